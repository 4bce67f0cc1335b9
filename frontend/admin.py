"""The admin screens (users, groups, MCP servers, usage, audit log) and the JSON they call.

A non-admin gets no admin navigation, a 403 page for the screens and a 403 JSON error for
the endpoints; the orchestrator checks again on every call, so a user demoted since they
logged in is refused there too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import login_required, signed_in_user

__all__ = ["PERIODS", "admin_required", "bp", "server_entries"]

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__)

F = TypeVar("F", bound=Callable[..., Any])

PERIODS: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
"""The usage screen's periods: how far back each looks (None: since the beginning)."""

_MAX_IMPORT = 50


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


def _refused(status: int, type_: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"type": type_, "message": message}}), status


def admin_required(view: F) -> F:
    """Signed in (see `login_required`) and an admin: otherwise 403, page or JSON."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = signed_in_user()
        if user is None or not user.get("is_admin"):
            message = "Only an admin can open this."
            if request.path.startswith("/api/"):
                return _refused(403, "forbidden", message)
            return render_template("error.html", message=message), 403
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _answer(value: Any, status: int = 200) -> Any:
    if value is None:
        return Response(status=204)
    return jsonify(value), status


def _page(section: str) -> str:
    return render_template("settings.html", user=signed_in_user(), section=section)


# -- pages -----------------------------------------------------------------------------


@bp.get("/admin")
@admin_required
def index() -> Any:
    return redirect(url_for("admin.users_page"))


@bp.get("/admin/users")
@admin_required
def users_page() -> Any:
    return _page("users")


@bp.get("/admin/groups")
@admin_required
def groups_page() -> Any:
    return _page("groups")


@bp.get("/admin/mcp")
@admin_required
def mcp_page() -> Any:
    return _page("mcp")


@bp.get("/admin/usage")
@admin_required
def usage_page() -> Any:
    return _page("usage")


@bp.get("/admin/audit")
@admin_required
def audit_page() -> Any:
    return _page("audit")


# -- users ------------------------------------------------------------------------------


@bp.get("/api/admin/users")
@admin_required
def list_users() -> Any:
    return _answer(call_as_user("GET", "/users"))


@bp.post("/api/admin/users")
@admin_required
def create_user() -> Any:
    body = _body()
    new: dict[str, Any] = {"email": body.get("email"), "is_admin": bool(body.get("is_admin"))}
    if body.get("password"):
        new["password"] = body["password"]
    response = jsonify(call_as_user("POST", "/users", json=new))
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"  # a generated password, shown once
    return response


@bp.patch("/api/admin/users/<uuid:user_id>")
@admin_required
def update_user(user_id: Any) -> Any:
    body = _body()
    change = {k: body[k] for k in ("is_active", "is_admin", "password") if k in body}
    return _answer(call_as_user("PATCH", f"/users/{user_id}", json=change))


@bp.post("/api/admin/users/<uuid:user_id>/password-reset")
@admin_required
def reset_password(user_id: Any) -> Any:
    """A temporary password the user must replace at their next login (their sessions end)."""
    password = _body().get("password")
    reset = {"password": password} if isinstance(password, str) and password else {}
    response = jsonify(call_as_user("POST", f"/users/{user_id}/password-reset", json=reset))
    response.headers["Cache-Control"] = "no-store"  # a generated password, shown once
    return response


# -- groups -----------------------------------------------------------------------------
# Passed on as they are: the orchestrator checks every field and says what is wrong.


def _group(group_id: Any, *rest: str) -> str:
    return "/".join([f"/groups/{group_id}", *(quote(part, safe="") for part in rest)])


@bp.get("/api/admin/groups")
@admin_required
def list_groups() -> Any:
    return _answer(call_as_user("GET", "/groups"))


@bp.post("/api/admin/groups")
@admin_required
def create_group() -> Any:
    return _answer(call_as_user("POST", "/groups", json=_body()), 201)


@bp.patch("/api/admin/groups/<uuid:group_id>")
@admin_required
def update_group(group_id: Any) -> Any:
    return _answer(call_as_user("PATCH", _group(group_id), json=_body()))


@bp.delete("/api/admin/groups/<uuid:group_id>")
@admin_required
def delete_group(group_id: Any) -> Any:
    return _answer(call_as_user("DELETE", _group(group_id)))


@bp.post("/api/admin/groups/<uuid:group_id>/members")
@admin_required
def add_member(group_id: Any) -> Any:
    return _answer(call_as_user("POST", _group(group_id, "members"), json=_body()))


@bp.delete("/api/admin/groups/<uuid:group_id>/members/<uuid:user_id>")
@admin_required
def remove_member(group_id: Any, user_id: Any) -> Any:
    return _answer(call_as_user("DELETE", _group(group_id, "members", str(user_id))))


@bp.put("/api/admin/groups/<uuid:group_id>/policies")
@admin_required
def set_group_policy(group_id: Any) -> Any:
    return _answer(call_as_user("PUT", _group(group_id, "policies"), json=_body()))


@bp.delete("/api/admin/groups/<uuid:group_id>/policies/<string:server>/<string:tool>")
@admin_required
def remove_group_policy(group_id: Any, server: str, tool: str) -> Any:
    return _answer(call_as_user("DELETE", _group(group_id, "policies", server, tool)))


@bp.route("/api/admin/groups/<uuid:group_id>/servers/<string:server>", methods=["PUT", "DELETE"])
@admin_required
def group_server(group_id: Any, server: str) -> Any:
    """Limit a shared MCP server to the group (PUT), or take the group off it (DELETE)."""
    return _answer(call_as_user(request.method, _group(group_id, "servers", server)))


@bp.get("/api/admin/tools")
@admin_required
def list_tools() -> Any:
    """The tools on offer (an admin sees every shared server's), to pick rules from."""
    return _answer(call_as_user("GET", "/tools"))


# -- MCP servers --------------------------------------------------------------------------


def _server(name: str) -> str:
    return f"/mcp/servers/{quote(name, safe='')}"


def server_entries(document: Any) -> list[tuple[str, Any]]:
    """The `(name, entry)` pairs of a pasted `mcpServers` document (Claude Desktop and
    Cursor write `{"mcpServers": {...}}`; the inner object alone is accepted too).

    Raises:
        ValueError: not JSON of that shape, with a message for the user.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"This is not JSON (line {error.lineno}, column {error.colno}: {error.msg})."
            ) from None
    if not isinstance(document, dict):
        raise ValueError('Paste an object such as {"mcpServers": {"name": {...}}}.')
    servers = document.get("mcpServers", document)
    if not isinstance(servers, dict) or not servers:
        raise ValueError('No servers found: expected {"mcpServers": {"name": {...}}}.')
    if len(servers) > _MAX_IMPORT:
        raise ValueError(f"At most {_MAX_IMPORT} servers at once.")
    return list(servers.items())


@bp.get("/api/admin/mcp/servers")
@admin_required
def list_servers() -> Any:
    return _answer(call_as_user("GET", "/mcp/servers"))


@bp.post("/api/admin/mcp/servers")
@admin_required
def add_server() -> Any:
    body = _body()
    return _answer(call_as_user("POST", "/mcp/servers", json=body), 201)


@bp.post("/api/admin/mcp/import")
@admin_required
def import_servers() -> Any:
    """Register every entry of a pasted `mcpServers` document; each one's outcome."""
    body = _body()
    try:
        entries = server_entries(body.get("document"))
    except ValueError as error:
        return _refused(400, "invalid_input", str(error))
    shared = bool(body.get("shared", True))
    results = []
    for name, entry in entries:
        if not isinstance(entry, dict):
            results.append({"name": str(name), "ok": False, "error": "The entry is not an object."})
            continue
        try:
            view = call_as_user(
                "POST", "/mcp/servers", json={**entry, "name": name, "shared": shared}
            )
        except UpstreamCall as error:
            if error.status == 401:
                raise
            message = error.body.get("error", {}).get("message") or f"HTTP {error.status}"
            results.append({"name": str(name), "ok": False, "error": message})
        else:
            results.append({"name": str(name), "ok": True, "server": view})
    return jsonify({"results": results})


@bp.delete("/api/admin/mcp/servers/<string:name>")
@admin_required
def remove_server(name: str) -> Any:
    return _answer(call_as_user("DELETE", _server(name)))


@bp.post("/api/admin/mcp/servers/<string:name>/reconnect")
@admin_required
def reconnect_server(name: str) -> Any:
    return _answer(call_as_user("POST", f"{_server(name)}/reconnect"))


@bp.put("/api/admin/mcp/servers/<string:name>/tools/<string:tool>/policy")
@admin_required
def set_policy(name: str, tool: str) -> Any:
    policy = _body().get("policy")
    path = f"{_server(name)}/tools/{quote(tool, safe='')}/policy"
    return _answer(call_as_user("PUT", path, json={"policy": policy}))


@bp.post("/api/admin/mcp/servers/<string:name>/tools/<string:tool>/approve")
@admin_required
def approve_tool(name: str, tool: str) -> Any:
    return _answer(call_as_user("POST", f"{_server(name)}/tools/{quote(tool, safe='')}/approve"))


@bp.post("/api/admin/mcp/servers/<string:name>/authorize")
@admin_required
def authorize_server(name: str) -> Any:
    """Start OAuth for the server. The orchestrator's cookie that the callback requires is
    passed on: cookies belong to a host, not a port, so it reaches the callback when both
    services are on one host (the usual set-up)."""
    upstream = call_as_user("POST", f"{_server(name)}/authorize", raw=True)
    response = jsonify(upstream.json())
    for cookie in upstream.headers.get_list("set-cookie"):
        response.headers.add("Set-Cookie", cookie)
    return response


# -- usage ------------------------------------------------------------------------------


@bp.get("/api/admin/usage")
@admin_required
def usage() -> Any:
    period = request.args.get("period", "30d")
    if period not in PERIODS:
        return _refused(400, "invalid_input", f"The period is one of {', '.join(PERIODS)}.")
    params = {"all": "true"}
    back = PERIODS[period]
    if back is not None:
        params["since"] = (datetime.now(UTC) - back).isoformat()
    return _answer(call_as_user("GET", "/usage", params=params))


# -- audit log --------------------------------------------------------------------------

_AUDIT_FILTERS = ("user", "action", "since", "until")


def _audit_filters() -> dict[str, str]:
    return {k: v for k in _AUDIT_FILTERS if (v := request.args.get(k, "").strip())}


@bp.get("/api/admin/audit")
@admin_required
def audit() -> Any:
    """A page of the audit log: the filters, `cursor` and `limit` are passed on."""
    params = _audit_filters()
    for name in ("cursor", "limit"):
        if request.args.get(name):
            params[name] = request.args[name]
    return _answer(call_as_user("GET", "/audit", params=params))


@bp.get("/admin/audit/export.jsonl")
@admin_required
def audit_export() -> Any:
    """Every record matching the filters, as the orchestrator's JSON lines download."""
    params = _audit_filters() | {"format": "jsonl"}
    upstream = call_as_user("GET", "/audit", raw=True, params=params)
    headers = {
        "Content-Disposition": upstream.headers.get(
            "content-disposition", 'attachment; filename="audit.jsonl"'
        ),
        "Cache-Control": "no-store",
    }
    return Response(upstream.content, mimetype="application/x-ndjson", headers=headers)
