"""A long stored conversation to open in the browser: questions, tool calls, code answers.

`long_chat(count)` makes `count` messages in turns of four (a question, a tool call, its
result, an answer with a code block), as the orchestrator stores them; `store_messages`
writes them into a conversation directly, since a thousand messages through runs would
take minutes. Used by `make bench` (`benchmarks.frontend`) and the browser tests.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from orchestrator.domain import Message, Role, TextPart, ToolCall, Usage
from orchestrator.store import SqlConversationStore, create_engine

__all__ = ["long_chat", "store_messages", "store_messages_in_thread"]

_CODE = (
    "Here is step {i}:\n\n```python\ndef step_{i}(items):\n"
    "    total = 0\n    for item in items:\n        total += item * {i}\n"
    "    return total\n```\n\nIt runs in **O(n)**; see `step_{i}`. Answer {i} ends here."
)


def long_chat(count: int) -> list[Message]:
    """`count` messages (a multiple of four is a whole number of turns)."""
    messages: list[Message] = []
    turn = 0
    while len(messages) < count:
        call = f"call_{uuid.uuid4().hex[:20]}"
        messages += [
            Message(
                id=str(uuid.uuid4()), role=Role.USER, content=[TextPart(text=f"Question {turn}")]
            ),
            Message(
                id=str(uuid.uuid4()),
                role=Role.ASSISTANT,
                tool_calls=[
                    ToolCall(id=call, name="files__read", arguments='{"path": "notes.txt"}')
                ],
                model="gpt-5",
                usage=Usage(input_tokens=120, output_tokens=12),
            ),
            Message(
                id=str(uuid.uuid4()),
                role=Role.TOOL,
                tool_call_id=call,
                name="files__read",
                content=[TextPart(text=f"notes for step {turn}")],
            ),
            Message(
                id=str(uuid.uuid4()),
                role=Role.ASSISTANT,
                content=[TextPart(text=_CODE.format(i=turn))],
                model="gpt-5",
                usage=Usage(input_tokens=150, output_tokens=60),
            ),
        ]
        turn += 1
    # One branch: each message answers the one before it.
    chained: list[Message] = []
    for message in messages[:count]:
        parent = chained[-1].id if chained else None
        chained.append(message.model_copy(update={"parent_id": parent}))
    return chained


async def store_messages(database_url: str, conversation_id: str, messages: list[Message]) -> None:
    """Append `messages` to the conversation, in one transaction."""
    engine = create_engine(database_url, pool_size=1)
    try:
        store = SqlConversationStore(engine)
        async with engine.begin() as conn:
            await store.append(conn, conversation_id, None, messages)
    finally:
        await engine.dispose()


def store_messages_in_thread(
    database_url: str, conversation_id: str, messages: list[Message]
) -> None:
    """`store_messages` from code that already runs an event loop (Playwright's sync API)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(store_messages(database_url, conversation_id, messages))
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if failure:
        raise failure[0]
