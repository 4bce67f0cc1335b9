"""How the local model is prompted: which proposed calls are kept, how results are shown."""

from __future__ import annotations

import json

from orchestrator.domain import Message, Role, TextPart, ToolCall, ToolSpec
from orchestrator.llm.local_prompt import (
    ChatTemplate,
    ProposedCall,
    accept_calls,
    answer_messages,
    parse_calls,
)

ADD = ToolSpec(name="math__add", server="math", tool="add", description="Add two numbers.")
WEATHER = ToolSpec(name="get_weather", server="w", tool="get_weather")
NOW = ToolSpec(name="clock__current_time", server="clock", tool="current_time")


def user(text: str) -> Message:
    return Message(id="u", role=Role.USER, content=[TextPart(text=text)])


def test_only_well_formed_calls_of_offered_tools_are_parsed() -> None:
    calls = [{"name": "math__add", "arguments": {"a": 1}}, {"name": "rm", "arguments": {}}]
    text = f"<tool_call>{json.dumps(calls)}</tool_call>"
    assert parse_calls(text, [ADD]) == [ProposedCall("math__add", {"a": 1})]
    assert parse_calls("<tool_call>[{oops</tool_call>", [ADD]) == []
    assert parse_calls("Hello!", [ADD]) == []


def test_a_call_is_kept_only_when_its_values_come_from_the_turn() -> None:
    turn = [user("What's the weather in Paris?")]
    assert accept_calls([ProposedCall("get_weather", {"city": "Paris"})], turn)
    assert not accept_calls([ProposedCall("get_weather", {"city": "Paris"})], [user("Hi!")])
    numbers = [user("Add 17 and 25.")]
    assert accept_calls([ProposedCall("math__add", {"a": 17, "b": 25})], numbers)
    assert not accept_calls([ProposedCall("math__add", {"a": 1, "b": 25})], numbers)


def test_a_call_without_arguments_must_be_about_what_the_user_said() -> None:
    assert accept_calls([ProposedCall("clock__current_time", {})], [user("What time is it?")])
    assert not accept_calls([ProposedCall("clock__current_time", {})], [user("Tell me a joke")])


def test_a_call_already_made_in_the_turn_is_not_repeated() -> None:
    call = ToolCall(id="c1", name="get_weather", arguments='{"city": "Paris"}')
    history = [
        user("What's the weather in Paris?"),
        Message(id="a", role=Role.ASSISTANT, tool_calls=[call]),
        Message(
            id="t",
            role=Role.TOOL,
            tool_call_id="c1",
            name="get_weather",
            content=[TextPart(text="Sunny")],
        ),
    ]
    assert accept_calls([ProposedCall("get_weather", {"city": "Paris"})], history) == []


def test_tool_results_go_before_the_question_they_answer() -> None:
    call = ToolCall(id="c1", name="get_weather", arguments=json.dumps({"city": "Paris"}))
    turns = answer_messages(
        [
            Message(id="s", role=Role.SYSTEM, content=[TextPart(text="Be brief.")]),
            user("What's the weather in Paris?"),
            Message(id="a", role=Role.ASSISTANT, tool_calls=[call]),
            Message(
                id="t",
                role=Role.TOOL,
                tool_call_id="c1",
                name="get_weather",
                content=[TextPart(text="Sunny, 21 °C")],
            ),
        ]
    )
    assert turns == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": 'get_weather({"city": "Paris"}) returned: Sunny, 21 °C\n\n'
            "Using this, answer: What's the weather in Paris?",
        },
    ]


def test_a_gguf_without_a_template_gets_its_architecture_s_format() -> None:
    gemma = ChatTemplate.for_model(
        {"general.architecture": "gemma3"}, bos_token="<bos>", eos_token=""
    )
    prompt = gemma.render([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}])
    assert prompt == "<bos><start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    chatml = ChatTemplate.for_model({"general.architecture": "llama"}, bos_token="", eos_token="")
    assert chatml.render([{"role": "user", "content": "Hi"}]).endswith(
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
