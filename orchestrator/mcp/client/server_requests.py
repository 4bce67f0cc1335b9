"""What servers ask of the hub while a request runs: user input, the model, roots.

- Elicitation (form or URL) goes to the user of the request through its tool call's
  `elicit`, which the loop turns into an `input.required` run event; the clock of the
  call stops while the user answers.
- Sampling is served by the orchestrator's own model, and only after the user accepts
  it (asked the same way, with the request shown); a server cannot use the model behind
  the user's back.
- Roots are the configured ones, or with `"roots": "workspace"` the folder of the user
  the request is for.

A question whose user cannot be known is refused, never shown to someone else.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Literal

import mcp_types as types
from pydantic import FileUrl, ValidationError

from orchestrator.domain import (
    AssistantError,
    ChatModel,
    ElicitationRequest,
    ModelFinished,
    ModelRequest,
    TextDelta,
    ToolCallContext,
)
from orchestrator.mcp.client.call import Call
from orchestrator.mcp.client.content import (
    elicit_result,
    elicitation_request,
    sampling_messages,
    sampling_result,
)

__all__ = ["ServerRequests", "workspace_of"]

logger = logging.getLogger(__name__)

_MAX_SAMPLING_TOKENS = 4_096
_PREVIEW_CHARS = 2_000


def workspace_of(data_dir: Path, user_id: str) -> Path:
    """The user's own folder under the data folder (made if missing): their workspace root."""
    path = data_dir / "workspaces" / user_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _root(entry: str) -> types.Root:
    uri = entry if "://" in entry else Path(entry).absolute().as_uri()
    return types.Root(uri=FileUrl(uri), name=Path(entry).name or entry)


def _context(call: Call | None) -> ToolCallContext | None:
    if call is None or not isinstance(call.context, ToolCallContext):
        return None
    return call.context


def _preview(params: types.CreateMessageRequestParams) -> str:
    lines: list[str] = []
    if params.system_prompt:
        lines.append(f"[system] {params.system_prompt}")
    for message in params.messages:
        blocks = message.content if isinstance(message.content, list) else [message.content]
        for block in blocks:
            text = block.text if isinstance(block, types.TextContent) else f"({block.type})"
            lines.append(f"[{message.role}] {text}")
    text = "\n".join(lines)
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + " …"


class ServerRequests:
    """Answers what connected servers ask; one for all of a hub's connections.

    Without a `model`, sampling is refused (and not offered to servers).
    """

    def __init__(self, *, model: ChatModel | None, model_name: str, data_dir: Path) -> None:
        self._model = model
        self._model_name = model_name
        self._data_dir = data_dir

    @property
    def can_sample(self) -> bool:
        """Whether there is a model to sample with."""
        return self._model is not None

    async def elicit(
        self, call: Call | None, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        """Ask the user of `call` to fill in a form or visit a page; cancelled without one."""
        context = _context(call)
        if call is None or context is None:
            return types.ElicitResult(action="cancel")
        with call.waiting_on_user():
            answer = await context.elicit(elicitation_request(params))
        try:
            return elicit_result(answer)
        except ValidationError:
            return types.ErrorData(
                code=types.INVALID_PARAMS, message="The answer does not fit the requested form."
            )

    async def sample(
        self, server: str, call: Call | None, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        """Answer `server`'s request with the model, once the user of `call` accepts it."""
        context = _context(call)
        if self._model is None or call is None or context is None:
            return types.ErrorData(
                code=types.INVALID_REQUEST,
                message="Sampling needs a user to approve it, and there is none for this request.",
            )
        question = ElicitationRequest(
            mode="form",
            message=(
                f"The tool server {server!r} asks to use the model "
                f"(up to {min(params.max_tokens, _MAX_SAMPLING_TOKENS)} tokens) with:\n\n"
                f"{_preview(params)}\n\nAccept to let it, decline to refuse."
            ),
            requested_schema={"type": "object", "properties": {}},
        )
        with call.waiting_on_user():
            answer = await context.elicit(question)
            if answer.action != "accept":
                return types.ErrorData(
                    code=types.INVALID_REQUEST, message="The user declined the sampling request."
                )
            return await self._complete(params)

    async def _complete(
        self, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        assert self._model is not None
        request = ModelRequest(
            model=self._model_name,
            messages=sampling_messages(params, lambda: str(uuid.uuid4())),
            max_output_tokens=min(params.max_tokens, _MAX_SAMPLING_TOKENS),
            tool_choice="none",
        )
        text: list[str] = []
        reason: str | None = None
        try:
            async for event in self._model.stream(request):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ModelFinished):
                    reason = event.reason
        except AssistantError as error:
            return types.ErrorData(code=types.INTERNAL_ERROR, message=error.message)
        return sampling_result("".join(text), self._model_name, reason)

    async def roots(
        self, configured: list[str] | Literal["workspace"] | None, user_id: str | None
    ) -> types.ListRootsResult | types.ErrorData:
        """The configured roots, or with "workspace" the folder of `user_id` (none without)."""
        if configured == "workspace":
            if user_id is None:
                return types.ListRootsResult(roots=[])
            path = workspace_of(self._data_dir, user_id)
            root = types.Root(uri=FileUrl(path.as_uri()), name="workspace")
            return types.ListRootsResult(roots=[root])
        return types.ListRootsResult(roots=[_root(entry) for entry in configured or []])
