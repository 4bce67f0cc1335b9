"""What a user's groups allow: deny over ask, "*" for a whole server, models as a union."""

from __future__ import annotations

import pytest

from orchestrator.domain import Access, Forbidden, GroupPolicy, ToolPolicy, ToolRule, ToolSpec


def _spec(server: str, tool: str, policy: ToolPolicy = ToolPolicy.AUTO) -> ToolSpec:
    return ToolSpec(name=f"{server}__{tool}", server=server, tool=tool, policy=policy)


def test_no_group_allows_every_tool_and_model_unchanged() -> None:
    specs = [_spec("files", "read"), _spec("web", "fetch", ToolPolicy.ASK)]
    assert Access().govern(specs) == specs
    assert Access().allows_model("anything")
    assert Access().denial(specs[0]) is None


def test_deny_wins_over_ask_and_a_star_rule_covers_the_whole_server() -> None:
    access = Access(
        rules=(
            ToolRule(server="files", policy=GroupPolicy.ASK, group="a"),
            ToolRule(server="files", tool="delete", policy=GroupPolicy.DENY, group="b"),
            ToolRule(server="web", tool="fetch", policy=GroupPolicy.ASK, group="a"),
        )
    )
    governed = access.govern(
        [_spec("files", "read"), _spec("files", "delete"), _spec("web", "fetch"), _spec("web", "s")]
    )
    assert [(s.name, s.policy, s.always_ask) for s in governed] == [
        ("files__read", ToolPolicy.ASK, True),
        ("web__fetch", ToolPolicy.ASK, True),
        ("web__s", ToolPolicy.AUTO, False),
    ]
    refusal = access.denial(_spec("files", "delete"))
    assert refusal is not None and "files__delete" in refusal and "denied" in refusal
    assert access.denial(_spec("files", "read")) is None


def test_a_rule_on_another_server_with_the_same_tool_name_does_not_apply() -> None:
    access = Access(rules=(ToolRule(server="web", tool="read", policy=GroupPolicy.DENY),))
    assert [s.name for s in access.govern([_spec("files", "read")])] == ["files__read"]


def test_a_model_outside_the_groups_lists_is_refused_with_the_allowed_ones() -> None:
    access = Access(models=frozenset({"gpt-5-mini", "local"}))
    assert access.allowed_models(["gpt-5", "local", "gpt-5-mini"]) == ["local", "gpt-5-mini"]
    with pytest.raises(Forbidden) as refused:
        access.check_model("gpt-5")
    assert "gpt-5-mini, local" in refused.value.message
    assert refused.value.detail == {"model": "gpt-5", "allowed_models": ["gpt-5-mini", "local"]}
    nothing = Access(models=frozenset())
    with pytest.raises(Forbidden, match="No model is allowed"):
        nothing.check_model("gpt-5")


def test_a_limited_shared_server_is_hidden_but_the_users_own_of_that_name_is_not() -> None:
    access = Access(hidden_servers=frozenset({"crm"}))
    assert not access.sees_server("crm", None, "u1")
    assert access.sees_server("crm", "u1", "u1")
    assert not access.sees_server("crm", "u2", "u1")
    assert access.sees_server("wiki", None, "u1")
