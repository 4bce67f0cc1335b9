"""MCP results, prompts, sampling and elicitation in our shapes, and back."""

from __future__ import annotations

import itertools

import mcp_types as types

from orchestrator.domain import (
    AudioPart,
    ElicitationAnswer,
    ImagePart,
    JsonPart,
    ResourceLinkPart,
    ResourcePart,
    Role,
    TextPart,
)
from orchestrator.mcp.client.content import (
    content_blocks,
    elicit_result,
    elicitation_request,
    outcome_of,
    prompt_messages,
    sampling_messages,
    sampling_result,
)


def _ids() -> object:
    counter = itertools.count()
    return lambda: f"m{next(counter)}"


def test_every_kind_of_content_maps_to_a_part() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="hello"),
            types.ImageContent(type="image", data="aW1n", mime_type="image/png"),
            types.AudioContent(type="audio", data="YXVk", mime_type="audio/wav"),
            types.ResourceLink(type="resource_link", uri="file:///a", name="a", title="A file"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(
                    uri="note://1", text="n", mime_type="text/plain"
                ),
            ),
            types.EmbeddedResource(
                type="resource", resource=types.BlobResourceContents(uri="bin://1", blob="AAEC")
            ),
        ]
    )
    outcome = outcome_of(result)
    assert outcome.content == [
        TextPart(text="hello"),
        ImagePart(mime_type="image/png", data="aW1n"),
        AudioPart(mime_type="audio/wav", data="YXVk"),
        ResourceLinkPart(uri="file:///a", name="A file"),
        ResourcePart(uri="note://1", mime_type="text/plain", text="n"),
        ResourcePart(uri="bin://1", blob="AAEC"),
    ]
    assert not outcome.is_error


def test_structured_content_is_kept_and_its_text_copy_dropped() -> None:
    result = types.CallToolResult(
        content=[types.TextContent(type="text", text='{"temp": 21}')],
        structured_content={"temp": 21},
    )
    assert outcome_of(result).content == [JsonPart(value={"temp": 21})]
    wrapped = types.CallToolResult(
        content=[types.TextContent(type="text", text="5")], structured_content={"result": 5}
    )
    assert outcome_of(wrapped).content == [JsonPart(value={"result": 5})]
    said = types.CallToolResult(
        content=[types.TextContent(type="text", text="removed /tmp/x")],
        structured_content={"result": "removed /tmp/x"},
    )
    assert outcome_of(said).content == [TextPart(text="removed /tmp/x")]
    different = types.CallToolResult(
        content=[types.TextContent(type="text", text="It is 21 degrees.")],
        structured_content={"temp": 21},
    )
    assert len(outcome_of(different).content) == 2


def test_a_tool_error_stays_an_error_even_when_empty() -> None:
    outcome = outcome_of(types.CallToolResult(content=[], is_error=True))
    assert outcome.is_error and outcome.content == [TextPart(text="(error)")]


def test_prompt_messages_keep_their_roles() -> None:
    result = types.GetPromptResult(
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text="Q")),
            types.PromptMessage(role="assistant", content=types.TextContent(type="text", text="A")),
        ]
    )
    messages = prompt_messages(result, _ids())
    assert [(m.role, m.text) for m in messages] == [(Role.USER, "Q"), (Role.ASSISTANT, "A")]


def test_sampling_requests_become_a_conversation_and_answers_a_result() -> None:
    params = types.CreateMessageRequestParams(
        messages=[
            types.SamplingMessage(role="user", content=types.TextContent(type="text", text="Hi")),
        ],
        system_prompt="Be terse.",
        max_tokens=10,
    )
    messages = sampling_messages(params, _ids())
    assert [(m.role, m.text) for m in messages] == [(Role.SYSTEM, "Be terse."), (Role.USER, "Hi")]
    result = sampling_result("Hello.", "gpt-5", "length")
    assert result.stop_reason == "maxTokens" and result.model == "gpt-5"


def test_elicitations_in_both_modes_and_their_answers() -> None:
    form = elicitation_request(
        types.ElicitRequestFormParams(
            message="Name?",
            requested_schema={"type": "object", "properties": {"name": {"type": "string"}}},
        )
    )
    assert form.mode == "form" and form.requested_schema is not None
    url = elicitation_request(
        types.ElicitRequestURLParams(
            mode="url", message="Sign in", url="https://example.com/login", elicitation_id="e1"
        )
    )
    assert (url.mode, url.url) == ("url", "https://example.com/login")
    accepted = elicit_result(ElicitationAnswer(action="accept", content={"name": "Ada"}))
    assert accepted.action == "accept" and accepted.content == {"name": "Ada"}
    declined = elicit_result(ElicitationAnswer(action="decline", content={"name": "Ada"}))
    assert declined.content is None


def test_our_parts_go_back_as_mcp_blocks() -> None:
    blocks = content_blocks(
        [
            TextPart(text="t"),
            JsonPart(value={"a": 1}),
            ResourcePart(uri="note://1", text="n"),
            ResourceLinkPart(uri="file:///x"),
        ]
    )
    assert [block.type for block in blocks] == ["text", "text", "resource", "resource_link"]
