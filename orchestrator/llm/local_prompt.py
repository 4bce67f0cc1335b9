"""How a small local model is prompted: chat templates, tool calls, and their grammar.

A 135M-parameter model follows one tool-calling format well: the one it was trained on.
SmolLM2's instruct models learned the APIGen format (a system prompt listing the tools as
JSON, an answer `<tool_call>[{"name": ..., "arguments": {...}}]</tool_call>`), so a
generation step runs in two passes:

1. **Decide.** The tools and the user's latest message, in that format; the output is
   constrained by a grammar to a list of calls of the offered tools with arguments that
   match their schemas, so whatever the model writes is valid JSON for a real tool.
2. **Answer.** When no call survives, a plain chat prompt, streamed. Tool results are put
   in the user's turn before the question, which is what small models answer best from.

A model this small wants to call a tool for almost anything once tools are listed, so a
call is kept only when it is grounded in the turn: its argument values come from what the
user wrote (or what earlier tools returned), and it does not repeat a call already made in
the turn. Measured on our prompt set (see `benchmarks/local_model.py`), this keeps every
call a user asked for and drops the ones nobody asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.domain import Message, Role, ToolSpec, text_of

__all__ = [
    "ChatTemplate",
    "ProposedCall",
    "accept_calls",
    "answer_messages",
    "call_grammar",
    "decision_messages",
    "parse_calls",
]

ChatTurn = dict[str, str]

CALL_OPEN = "<tool_call>["
CALL_CLOSE = "]</tool_call>"

_DECISION_SYSTEM = """\
You are an expert in composing functions. You are given a question and a set of possible \
functions. Based on the question, you will need to make one or more function/tool calls to \
achieve the purpose. If none of the functions can be used, point it out and refuse to answer. \
If the given question lacks the parameters required by the function, also point it out.

You have access to the following tools:
<tools>{tools}</tools>

The output MUST strictly adhere to the following format, and NO other text MUST be included.
The example format is as follows. Please make sure the parameter type is correct. If no \
function call is needed, please make the tool calls an empty list '[]'.
<tool_call>[
{{"name": "func_name1", "arguments": {{"argument1": "value1", "argument2": "value2"}}}},
... (more tool calls as required)
]</tool_call>"""

_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Gemma's turns; a system prompt goes at the top of the first user turn.
_GEMMA = (
    "{{ bos_token }}{% set system = namespace(text='') %}{% for message in messages %}"
    "{% if message.role == 'system' %}{% set system.text = message.content + '\n\n' %}"
    "{% else %}<start_of_turn>{{ 'model' if message.role == 'assistant' else 'user' }}\n"
    "{% if message.role == 'user' %}{{ system.text }}{% set system.text = '' %}{% endif %}"
    "{{ message.content }}<end_of_turn>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
# Words that say nothing about what a tool is for.
_VERBS = frozenset(
    {"get", "set", "list", "read", "fetch", "find", "show", "make", "create", "run", "do", "the"}
)


class ChatTemplate:
    """Turns chat messages into a model's prompt text.

    The GGUF file's own template when it has one (any model a user points us at), else the
    format of its architecture (Gemma's turns, or ChatML, which SmolLM2 uses).
    """

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise ValueError(message)

        environment = ImmutableSandboxedEnvironment(trim_blocks=False, lstrip_blocks=False)
        environment.globals["raise_exception"] = raise_exception
        self._template = environment.from_string(source)
        self._bos = bos_token
        self._eos = eos_token

    @classmethod
    def for_model(
        cls, metadata: Mapping[str, str], *, bos_token: str, eos_token: str
    ) -> ChatTemplate:
        """The template from the GGUF `metadata`, or the one of its architecture."""
        source = metadata.get("tokenizer.chat_template")
        if not source:
            architecture = metadata.get("general.architecture", "")
            source = _GEMMA if architecture.startswith("gemma") else _CHATML
        return cls(source, bos_token=bos_token, eos_token=eos_token)

    def render(self, messages: Sequence[ChatTurn]) -> str:
        """The prompt for `messages`, ending where the assistant's answer begins.

        Raises:
            ValueError: the template refused the messages (its `raise_exception`).
        """
        return self._template.render(
            messages=list(messages),
            add_generation_prompt=True,
            bos_token=self._bos,
            eos_token=self._eos,
        )


def _tool_json(spec: ToolSpec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "parameters": spec.parameters}


def _current_turn(messages: Sequence[Message]) -> tuple[Message | None, list[Message]]:
    """The user's latest message and everything after it."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.USER:
            return messages[index], list(messages[index + 1 :])
    return None, []


def decision_messages(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[ChatTurn]:
    """The prompt of the deciding pass: the tools and the user's latest message."""
    user, _ = _current_turn(messages)
    tools_json = json.dumps([_tool_json(spec) for spec in tools], ensure_ascii=False)
    return [
        {"role": "system", "content": _DECISION_SYSTEM.format(tools=tools_json)},
        {"role": "user", "content": user.text if user is not None else ""},
    ]


def _tool_note(message: Message, calls: Mapping[str, str]) -> str:
    text = text_of(message.content) or "(no output)"
    call = f"{message.name or 'tool'}({calls.get(message.tool_call_id or '', '')})"
    if message.fault:
        return f"{call} was not answered: {text}"
    return f"{call} {'failed' if message.is_error else 'returned'}: {text}"


def answer_messages(messages: Sequence[Message]) -> list[ChatTurn]:
    """The prompt of the answering pass: plain chat, tool results folded into user turns.

    A result goes before the question it answers: `name(arguments) returned: ...` then
    `Using this, answer: <question>`, the phrasing our prompt set answered best from.
    """
    turns: list[ChatTurn] = []
    calls: dict[str, str] = {}
    pending_user: str | None = None
    notes: list[str] = []

    def flush() -> None:
        nonlocal pending_user, notes
        if pending_user is None:
            return
        content = pending_user
        if notes:
            content = "\n".join(notes) + "\n\nUsing this, answer: " + content
        turns.append({"role": "user", "content": content})
        pending_user, notes = None, []

    for message in messages:
        for call in message.tool_calls:
            calls[call.id] = call.arguments
        if message.role is Role.SYSTEM:
            turns.append({"role": "system", "content": message.text})
        elif message.role is Role.USER:
            flush()
            pending_user = message.text
        elif message.role is Role.TOOL:
            notes.append(_tool_note(message, calls))
        elif message.text:
            flush()
            turns.append({"role": "assistant", "content": message.text})
    flush()
    return turns


def _call_schema(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": spec.name}, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


# Left to the tool's server, which checks them anyway: size bounds become one nested rule
# per unit in GBNF (a `maxLength` of 1024 is 1024 nested optional characters) and regular
# expressions use escapes (`\w`) that GBNF lacks; llama.cpp refuses to parse either.
_SIZE_BOUNDS = frozenset(
    {"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "pattern"}
)


def _without_size_bounds(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: _without_size_bounds(value)
            for key, value in schema.items()
            if key not in _SIZE_BOUNDS
        }
    if isinstance(schema, list):
        return [_without_size_bounds(item) for item in schema]
    return schema


def call_grammar(tools: Sequence[ToolSpec], *, loose: bool = False) -> str:
    """A GBNF grammar for `<tool_call>[...]</tool_call>` with calls of `tools` only.

    Each call's arguments follow its tool's JSON schema (size bounds and patterns left to
    the tool's server); a schema the converter cannot handle, or every schema when `loose`,
    lets the tool take any JSON object.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    order = ["name", "arguments"]
    schemas: list[dict[str, Any]] = []
    for spec in tools:
        arguments = {"type": "object"} if loose else _without_size_bounds(spec.parameters)
        schema = _call_schema(spec, arguments)
        try:
            json_schema_to_gbnf(json.dumps(schema), order)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            schema = _call_schema(spec, {"type": "object"})
        schemas.append(schema)
    grammar = json_schema_to_gbnf(json.dumps({"oneOf": schemas}), order)
    # The converter's own rules are named after their path from `root`; only the top rule
    # is called `root`, and it becomes one call of the list.
    grammar = re.sub(r"^root ::=", "call ::=", grammar, count=1, flags=re.MULTILINE)
    separator = '"," "\\n"?'
    return (
        f'root ::= "{CALL_OPEN}" "\\n"? (call ({separator} call)*)? "\\n"? "{CALL_CLOSE}"\n'
        + grammar
    )


@dataclass(frozen=True, slots=True)
class ProposedCall:
    """A call the local model proposed in its deciding pass: a known tool, object arguments."""

    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text, the form `ToolCallRequested` carries."""
        return json.dumps(self.arguments, ensure_ascii=False)


def parse_calls(text: str, tools: Sequence[ToolSpec]) -> list[ProposedCall]:
    """The calls in a deciding pass's output; anything malformed or unknown is dropped."""
    body = text.strip()
    if not body.startswith(CALL_OPEN[:-1]):
        return []
    body = body.removeprefix("<tool_call>").removesuffix("</tool_call>")
    try:
        value = json.loads(body)
    except ValueError:
        return []
    names = {spec.name for spec in tools}
    calls: list[ProposedCall] = []
    for entry in value if isinstance(value, list) else []:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        arguments = entry.get("arguments", {})
        if name in names and isinstance(arguments, dict):
            calls.append(ProposedCall(str(name), arguments))
    return calls


_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield f"{value:g}" if isinstance(value, float) else str(value)
    else:
        yield str(value)


def _grounded(call: ProposedCall, context: str, context_words: set[str]) -> bool:
    values = [leaf for leaf in _leaves(call.arguments) if leaf.strip()]
    if not values:
        # A call without arguments must at least be about what the user said.
        name_words = {w for w in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", call.name) if w}
        meaningful = {w.lower() for w in name_words} - _VERBS
        return bool(meaningful & context_words)
    for value in values:
        # A number, or a short value, must be a whole word of the turn ("1" is not in "17").
        if len(value) >= 3 and not _NUMBER.fullmatch(value) and value.lower() in context:
            continue
        words = _words(value)
        if not words or len(words & context_words) * 2 < len(words):
            return False
    return True


def accept_calls(calls: Sequence[ProposedCall], messages: Sequence[Message]) -> list[ProposedCall]:
    """The calls worth making: grounded in this turn, and not made in it already."""
    user, since = _current_turn(messages)
    if user is None:
        return []
    context_parts = [user.text]
    made: set[tuple[str, str]] = set()
    for message in since:
        if message.role is Role.TOOL:
            context_parts.append(message.text)
        for call in message.tool_calls:
            try:
                arguments = json.loads(call.arguments or "{}")
            except ValueError:
                continue
            made.add((call.name, json.dumps(arguments, sort_keys=True)))
    context = "\n".join(context_parts).lower()
    context_words = _words(context)
    accepted: list[ProposedCall] = []
    for call in calls:
        key = (call.name, json.dumps(call.arguments, sort_keys=True))
        if key in made or not _grounded(call, context, context_words):
            continue
        made.add(key)
        accepted.append(call)
    return accepted
