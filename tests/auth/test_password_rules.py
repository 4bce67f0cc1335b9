"""The password rules, each refused with a message that names it."""

from __future__ import annotations

import pytest

from orchestrator.auth import MAX_PASSWORD_LENGTH, check_password
from orchestrator.domain import InvalidInput


@pytest.mark.parametrize(
    ("password", "rule", "message"),
    [
        ("short1", "min_length", "The password needs at least 8 characters (it has 6)."),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "max_length", "at most 128 characters"),
        ("Ada.Lovelace@Example.org", "email", "cannot be your email address"),
        ("ada.lovelace", "email", "the name before its @"),
        ("Password123", "common", "one of the most common ones"),
        ("qwertyuiop", "common", "choose another"),
    ],
)
def test_a_password_breaking_a_rule_is_refused_naming_the_rule(
    password: str, rule: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password(password, email="ada.lovelace@example.org")
    assert refused.value.detail["rule"] == rule
    assert message in refused.value.message


@pytest.mark.parametrize(
    "password", ["correct horse battery", "eight ch", "x" * MAX_PASSWORD_LENGTH, "pässwörd-ünïcode"]
)
def test_a_password_meeting_the_rules_passes(password: str) -> None:
    check_password(password, email="ada.lovelace@example.org")
