"""Runs: state, events (SSE, resumable), cancel, user input; tool-call approvals."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import (
    DecisionIn,
    DecisionOut,
    InputAnswer,
    RunOut,
    ToolGrantList,
    ToolGrantOut,
)
from orchestrator.api.sse import event_stream, resume_point
from orchestrator.domain import ElicitationAnswer

router = APIRouter(tags=["runs"])

RunId = Annotated[UUID, Path(description="A run id.")]
ToolName = Annotated[
    str, Path(min_length=1, max_length=200, description="A tool name from GET /tool-grants.")
]
CallId = Annotated[
    str, Path(min_length=1, max_length=100, description="A tool call id from a tool.call event.")
]


@router.get("/runs/{run_id}", response_model=RunOut, responses=error_responses(401, 404, 422))
async def get_run(run_id: RunId, user: CurrentUser, services: ServicesDep) -> RunOut:
    """A run's status, model, usage and last event id."""
    return RunOut.of(await services.runs.get(user.user_id, str(run_id)))


@router.get(
    "/runs/{run_id}/events",
    responses={
        200: {
            "description": "The events after Last-Event-ID, then live ones until the end.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        204: {"description": "The run has ended and the client has every event."},
        **error_responses(401, 404, 422),
    },
)
async def run_events(
    run_id: RunId,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    after: Annotated[
        int | None, Query(ge=0, description="Resume after this event id (or send Last-Event-ID).")
    ] = None,
) -> Response:
    """Replays the run's events after the resume point, then follows it live.

    A disconnected client resumes with `Last-Event-ID` from any process, with no event
    lost or repeated.
    """
    start = resume_point(request, after)
    run = await services.runs.get(user.user_id, str(run_id))
    if run.finished_at is not None and start >= run.last_event_id:
        return Response(status_code=204)
    return event_stream(services.runs.events(run, start))


@router.post(
    "/runs/{run_id}/cancel", response_model=RunOut, responses=error_responses(401, 404, 409, 422)
)
async def cancel_run(run_id: RunId, user: CurrentUser, services: ServicesDep) -> RunOut:
    """Stop the run; what it wrote so far is kept."""
    return RunOut.of(await services.runs.cancel(user.user_id, str(run_id)))


@router.post(
    "/runs/{run_id}/input", status_code=204, responses=error_responses(400, 401, 404, 409, 413, 422)
)
async def answer_input(
    run_id: RunId, body: InputAnswer, user: CurrentUser, services: ServicesDep
) -> Response:
    """Answer an `input.required` event (a tool server's question)."""
    await services.runs.answer_input(
        user.user_id,
        str(run_id),
        body.id,
        ElicitationAnswer(action=body.action, content=body.content),
    )
    return Response(status_code=204)


@router.post(
    "/tool-calls/{call_id}/approve",
    response_model=DecisionOut,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 404, 409, 413, 422, 503),
)
async def approve(
    call_id: CallId, user: CurrentUser, services: ServicesDep, body: DecisionIn | None = None
) -> DecisionOut:
    """Let a tool call that waits for approval run.

    With `{"always": true}`, later calls of the same tool run without asking (this run and
    the next ones) until the grant is removed (DELETE /tool-grants/{tool}).
    """
    if body is not None and body.always:
        run_id = await services.runs.allow_always(user.user_id, call_id)
        return DecisionOut(tool_call_id=call_id, run_id=run_id, approved=True, always=True)
    run_id = await services.runs.decide(user.user_id, call_id, True)
    return DecisionOut(tool_call_id=call_id, run_id=run_id, approved=True)


@router.post(
    "/tool-calls/{call_id}/deny",
    response_model=DecisionOut,
    response_model_exclude_none=True,
    responses=error_responses(401, 404, 409, 422),
)
async def deny(call_id: CallId, user: CurrentUser, services: ServicesDep) -> DecisionOut:
    """Refuse a tool call; the model is told the user did not approve it."""
    run_id = await services.runs.decide(user.user_id, call_id, False)
    return DecisionOut(tool_call_id=call_id, run_id=run_id, approved=False)


@router.get("/tool-grants", response_model=ToolGrantList, responses=error_responses(401))
async def list_tool_grants(user: CurrentUser, services: ServicesDep) -> ToolGrantList:
    """The tools you always allow (answered "Always allow" to one of their calls)."""
    grants = await services.runs.grants(user.user_id)
    return ToolGrantList(items=[ToolGrantOut(tool=g.tool, created_at=g.created_at) for g in grants])


@router.delete("/tool-grants/{tool}", status_code=204, responses=error_responses(401, 404, 422))
async def revoke_tool_grant(tool: ToolName, user: CurrentUser, services: ServicesDep) -> Response:
    """Be asked again before calls of this tool (at once, in runs already going too)."""
    await services.runs.revoke(user.user_id, tool)
    return Response(status_code=204)
