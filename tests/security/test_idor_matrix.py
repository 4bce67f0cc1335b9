"""User B against every object of user A, on every route and method the API serves.

The matrix is generated: every operation of the real app's OpenAPI document, every
WebSocket command in `/api/v1/ws`'s documentation, with A's ids put into each parameter
that names an object. B is an ordinary user, calling with an access token and with an API
key. A call that names one of A's objects must be refused with 404 or 403; no call may
answer 5xx, or show B anything of A's (ids, titles, contents, secrets); and afterwards A's
objects are exactly as they were. A route whose path parameter, query parameter or body the
matrix does not know fails the test: add the object kind to `PATH_KINDS` (and A's object to
the world in `conftest.py`), the parameter to `QUERY`, or a body to `BODIES`.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
import websockets

from orchestrator.api.routes import ws
from tests.security.conftest import Tally, World

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

REFUSED = {403, 404}

PATH_KINDS = {
    "conversations/{conversation_id}": "conversation",
    "messages/{message_id}": "message",
    "runs/{run_id}": "run",
    "tool-calls/{call_id}": "tool_call",
    "keys/{key_id}": "api_key",
    "servers/{name}": "mcp_server",
    "tools/{tool}": "mcp_tool",
    "tool-grants/{tool}": "mcp_tool",
    "documents/{document_id}": "document",
    "users/{user_id}": "user",
    "files/{file_id}": "file",
    "groups/{group_id}": "group",
    "members/{user_id}": "user",
    "policies/{server}": "mcp_server",
    "servers/{server}": "mcp_server",
}
"""`segment/{parameter}` of a path → the kind of A's object it names."""

QUERY: dict[str, str | None] = {
    "server": "mcp_server",
    "collection": "collection",
    "q": None,
    "limit": None,
    "offset": None,
    "cursor": None,
    "after": None,
    "format": None,
    "all": None,
    "uri": None,
    "state": None,
    "code": None,
    "iss": None,
    "error": None,
    "since": None,
    "return_to": None,
    "handoff_challenge": None,
    "until": None,
    "action": None,
    "user": None,  # the audit log's actor filter (admins only: B is refused the route)
}
"""Query parameters: the kind of A's object each names, or None for one that names none."""


@dataclass
class Payload:
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    names_a: bool = False
    """The body names one of A's objects (then the call must be refused)."""

    def text(self) -> str:
        return json.dumps([self.json, self.data], default=str)


def _b_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _a(world: World, kind: str) -> str:
    return world.objects[kind][0]


SESSION_ENDING = frozenset({"/api/v1/auth/logout"})
"""Routes that end the caller's own sessions: tried last."""

BODIES: dict[str, Callable[[World], list[Payload]]] = {
    "TokenRequest": lambda w: [Payload({"email": w.a.email, "password": "not A's password"})],
    "RefreshRequest": lambda w: [Payload({"refresh_token": "not.a.token"})],
    "HandoffExchange": lambda w: [Payload({"code": "not-a-code", "code_verifier": "v" * 43})],
    "PasswordChange": lambda w: [
        Payload({"current_password": "not B's password", "new_password": "b-new-password"})
    ],
    "ApiKeyCreate": lambda w: [Payload({"name": "B's key"})],
    "ConversationCreate": lambda w: [Payload({"title": "B's conversation"})],
    "ConversationRename": lambda w: [Payload({"title": "B was here"})],
    "RegenerateRequest": lambda w: [Payload({})],
    "BranchSwitch": lambda w: [Payload({"message_id": _a(w, "message")}, names_a=True)],
    "MessageCreate": lambda w: [
        Payload({"content": "B was here"}),
        Payload(
            {
                "content": "B was here",
                "prompt": {"server": _a(w, "mcp_server"), "name": "review", "arguments": {}},
            },
            names_a=True,
        ),
        Payload(
            {
                "content": "B was here",
                "resources": [{"server": _a(w, "mcp_server"), "uri": "config://app"}],
            },
            names_a=True,
        ),
        Payload({"content": "What is in it?", "files": [_a(w, "file")]}, names_a=True),
    ],
    "DecisionIn": lambda w: [Payload({"always": True})],
    "InputAnswer": lambda w: [
        Payload({"id": _a(w, "question"), "action": "decline"}, names_a=True)
    ],
    "UserCreate": lambda w: [Payload({"email": f"{_b_name('b')}@test.example"})],
    "UserUpdate": lambda w: [
        Payload({"is_active": False}),
        Payload({"is_admin": True}),
        Payload({"password": "b-chose-this-password"}),
    ],
    "PolicyChange": lambda w: [Payload({"policy": "auto"})],
    "GroupCreate": lambda w: [Payload({"name": _b_name("b-group-")})],
    "GroupUpdate": lambda w: [Payload({"models": []}), Payload({"name": _b_name("b-group-")})],
    "MemberAdd": lambda w: [Payload({"user_id": w.b.user_id})],
    "PolicySet": lambda w: [Payload({"server": _a(w, "mcp_server"), "policy": "deny"})],
    "ServerCreate": lambda w: [Payload({"name": _b_name("b"), "url": "http://127.0.0.1:9/mcp"})],
    "PromptGet": lambda w: [
        Payload(
            {"server": _a(w, "mcp_server"), "name": "review", "arguments": {"code": "x"}},
            names_a=True,
        )
    ],
    "CollectionCreate": lambda w: [Payload({"name": _b_name("b-collection-")})],
    "ChatCompletionRequest": lambda w: [
        Payload({"model": "assistant", "messages": [{"role": "user", "content": "What's mine?"}]})
    ],
    "FileUpload": lambda w: [Payload(files={"file": ("b.txt", b"B's own file", "text/plain")})],
    "Body_upload_document_api_v1_knowledge_documents_post": lambda w: [
        Payload(
            files={"file": ("b.md", b"# B's notes", "text/markdown")},
            data={"collection": _a(w, "collection")},
        )
    ],
}
"""Valid request bodies by schema name (a 422 would hide a missing check)."""


@dataclass
class Attempt:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict[str, str])
    payload: Payload | None = None
    names_a: bool = False

    def describe(self) -> str:
        query = f"?{'&'.join(f'{k}={v}' for k, v in self.query.items())}" if self.query else ""
        body = f" {self.payload.text()[:160]}" if self.payload else ""
        return f"{self.method} {self.path}{query}{body}"

    def sent(self) -> str:
        return self.path + json.dumps(self.query) + (self.payload.text() if self.payload else "")


def _schema_name(operation: dict[str, Any]) -> str | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    [(_, media)] = body["content"].items()
    schema = media["schema"]
    if "$ref" not in schema:
        for option in schema.get("anyOf", ()):
            if "$ref" in option:
                schema = option
    return schema.get("$ref", "").rsplit("/", 1)[-1] or schema.get("title") or json.dumps(schema)


def _path_kinds(path: str) -> dict[str, str]:
    kinds = {}
    for segment, parameter in re.findall(r"([^/]+)/\{([^}]+)\}", path):
        kind = PATH_KINDS.get(f"{segment}/{{{parameter}}}")
        assert kind is not None, (
            f"{path}: the matrix does not know what `{segment}/{{{parameter}}}` names; add the "
            "kind to PATH_KINDS and one of A's objects of that kind to the world"
        )
        kinds[parameter] = kind
    return kinds


def _plain_query(parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    options = [schema, *schema.get("anyOf", ())]
    for option in options:
        if "enum" in option:
            return str(option["enum"][0])
        if option.get("type") == "integer":
            return str(option.get("minimum", 1))
        if option.get("type") == "boolean":
            return "false"
    return "x" * max(1, schema.get("minLength", 1))


def attempts(world: World, document: dict[str, Any]) -> tuple[list[Attempt], int]:
    """Every attempt of the matrix, and the number of operations they cover."""
    own = {"conversation": [world.objects["b_conversation"][0]], "run": [world.objects["b_run"][0]]}
    found: list[Attempt] = []
    operations = 0
    for path, methods in document["paths"].items():
        kinds = _path_kinds(path)
        for method, operation in methods.items():
            operations += 1
            query_refs: list[dict[str, str]] = [{}]
            required: dict[str, str] = {}
            for parameter in operation.get("parameters", ()):
                if parameter["in"] != "query":
                    continue
                name = parameter["name"]
                assert name in QUERY, (
                    f"{method.upper()} {path}: the matrix does not know the query parameter "
                    f"`{name}`; add it to QUERY (with the kind of object it names, if any)"
                )
                kind = QUERY[name]
                if kind is not None:
                    query_refs.append({name: world.objects[kind][0]})
                if parameter.get("required"):
                    required[name] = (
                        world.objects[kind][0] if kind is not None else _plain_query(parameter)
                    )
            name = _schema_name(operation)
            if name is None:
                payloads: list[Payload | None] = [None]
            else:
                assert name in BODIES, (
                    f"{method.upper()} {path}: the matrix has no body for `{name}`; add one to "
                    "BODIES, marking the ones that name A's objects"
                )
                payloads = list(BODIES[name](world))
            a_values = [world.objects[kinds[p]] for p in kinds]
            own_values = [own.get(kinds[p], []) for p in kinds]
            for query in query_refs:
                query = required | query
                query_names_a = any(
                    QUERY[k] is not None and QUERY[k] != "collection" for k in query
                )
                for payload in payloads:
                    names_a = query_names_a or (payload is not None and payload.names_a)
                    combos = itertools.product(*a_values) if kinds else [()]
                    for values in combos:
                        filled = _fill(path, dict(zip(kinds, values, strict=True)))
                        found.append(
                            Attempt(method.upper(), filled, query, payload, bool(kinds) or names_a)
                        )
                    if kinds and names_a:
                        for values in itertools.product(*own_values):
                            filled = _fill(path, dict(zip(kinds, values, strict=True)))
                            found.append(Attempt(method.upper(), filled, query, payload, True))
    # Ending B's sessions (logout everywhere) would turn every later attempt into a 401.
    found.sort(key=lambda attempt: attempt.path in SESSION_ENDING)
    return found, operations


def _fill(path: str, values: dict[str, str]) -> str:
    for parameter, value in values.items():
        path = path.replace(f"{{{parameter}}}", quote(value, safe=""))
    return path


async def _call(
    client: httpx.AsyncClient, attempt: Attempt, headers: dict[str, str]
) -> tuple[int, str]:
    payload = attempt.payload
    kwargs: dict[str, Any] = {"params": attempt.query, "headers": headers}
    if payload is not None and payload.files is not None:
        kwargs |= {"files": payload.files, "data": payload.data}
    elif payload is not None:
        kwargs["json"] = payload.json
    with anyio.fail_after(20):
        async with client.stream(attempt.method, attempt.path, **kwargs) as response:
            if "text/event-stream" in response.headers.get("content-type", ""):
                return response.status_code, "(an event stream)"
            return response.status_code, (await response.aread()).decode(errors="replace")


async def _snapshot(world: World) -> dict[str, Any]:
    """What A sees of its objects (compared before and after B's attempts)."""
    client, headers = world.client, world.a.headers

    async def get(path: str, **params: str) -> Any:
        response = await client.get(path, headers=headers, params=params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    return {
        "conversations": [
            await get(f"/api/v1/conversations/{c}") for c in world.objects["conversation"]
        ],
        "runs": [await get(f"/api/v1/runs/{r}") for r in world.objects["run"]],
        "keys": sorted(key["id"] for key in await get("/api/v1/keys")),
        "server": (await get(f"/api/v1/mcp/servers/{_a(world, 'mcp_server')}"))["name"],
        "documents": await get("/api/v1/knowledge/documents", collection=_a(world, "collection")),
        "files": await get("/api/v1/files"),
        "groups": [
            (await client.get(f"/api/v1/groups/{g}", headers=world.admin.headers)).json()
            for g in world.objects["group"]
        ],
    }


def _ws_commands() -> list[tuple[list[str], list[str]]]:
    """The commands `/api/v1/ws` documents: (types, fields)."""
    doc = ws.__doc__ or ""
    section = doc.partition("commands")[2].partition("Events arrive")[0]
    commands = []
    for spec in re.findall(r"(?<!answer is )`\{([^`]*)\}`", section):
        types = re.findall(r'"type": ((?:"\w+"(?: \| )?)+)', spec)
        assert types, spec
        names = re.findall(r'"(\w+)"', types[0])
        rest = spec[spec.index(types[0]) + len(types[0]) :]
        commands.append((names, re.findall(r'"(\w+)"', rest)))
    assert len(commands) >= 5, doc
    return commands


WS_FIELDS: dict[str, str | None] = {
    "conversation_id": "conversation",
    "run_id": "run",
    "tool_call_id": "tool_call",
    "id": "question",
    "content": None,
    "model": None,
    "tools": None,
    "after": None,
    "action": None,
}
WS_VALUES: dict[str, Any] = {"content": "B was here", "action": "decline", "after": 0}
WS_OPTIONAL = {("input", "content"), ("send", "model"), ("send", "tools")}


async def _ws_attempts(world: World, tally: Tally, findings: list[str]) -> int:
    count = tally.attack("IDOR matrix (/ws)")
    url = world.url.replace("http://", "ws://") + "/api/v1/ws"
    attempts = 0
    async with websockets.connect(url, additional_headers=world.b.headers) as socket:
        ready = json.loads(await socket.recv())
        assert ready["type"] == "ready"
        for types, fields in _ws_commands():
            for name in fields:
                assert name in WS_FIELDS, (
                    f"/ws command {types}: the matrix does not know the field `{name}`; "
                    "add it to WS_FIELDS"
                )
            kinds = [WS_FIELDS[f] for f in fields if WS_FIELDS[f] is not None]
            combos = itertools.product(*(world.objects[k] for k in kinds if k))
            for type_, values in itertools.product(types, combos):
                command: dict[str, Any] = {"type": type_, "ref": f"r{attempts}"}
                ids = iter(values)
                for name in fields:
                    if WS_FIELDS[name]:
                        command[name] = next(ids)
                    elif (type_, name) not in WS_OPTIONAL:
                        command[name] = WS_VALUES[name]
                attempts += 1
                count.attempts += 1
                await socket.send(json.dumps(command))
                with anyio.fail_after(10):
                    answer = json.loads(await socket.recv())
                leaked = [
                    m for m in world.leaks(json.dumps(answer)) if m not in json.dumps(command)
                ]
                refused = (
                    answer.get("type") == "error"
                    and answer["error"]["type"] in ("not_found", "forbidden")
                    and answer.get("ref") == command["ref"]
                )
                if refused and not leaked:
                    count.refusals += 1
                    continue
                finding = f"/ws {json.dumps(command)} -> {json.dumps(answer)[:300]}"
                count.findings.append(finding)
                findings.append(finding)
    return attempts


async def test_user_b_is_refused_every_object_of_user_a_on_every_route(
    world: World, tally: Tally
) -> None:
    b = world.b
    conversation = await world.client.post(
        "/api/v1/conversations", json={"title": "B's own"}, headers=b.headers
    )
    world.objects["b_conversation"] = [conversation.json()["id"]]
    run = await world.client.post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": "B's own question"},
        headers=b.headers,
    )
    assert run.status_code == 202, run.text
    world.objects["b_run"] = [run.json()["run_id"]]
    document = world.app.openapi()
    matrix, operations = attempts(world, document)
    before = await _snapshot(world)
    findings: list[str] = []
    # /ws first: the HTTP matrix ends with B logging out everywhere.
    ws_attempts = await _ws_attempts(world, tally, findings)
    count = tally.attack("IDOR matrix (HTTP)")
    for headers, via in ((b.headers, "token"), (b.key_headers, "API key")):
        for attempt in matrix:
            count.attempts += 1
            status, text = await _call(world.client, attempt, headers)
            leaked = [m for m in world.leaks(text) if m not in attempt.sent()]
            problem = None
            if status >= 500:
                problem = "a server error"
            elif attempt.names_a and status not in REFUSED:
                problem = "not refused"
            elif leaked:
                problem = f"shows A's {leaked}"
            if problem is None:
                count.refusals += attempt.names_a
                continue
            finding = f"{attempt.describe()} (B by {via}) -> {status} {problem}: {text[:200]}"
            count.findings.append(finding)
            findings.append(finding)
    after = await _snapshot(world)
    http_attempts = len(matrix) * 2
    count.note = (
        f"{operations} routes and methods, {http_attempts} HTTP attempts "
        f"(+{ws_attempts} over /ws), {len(findings)} findings"
    )
    print(f"IDOR: {count.note}")
    assert findings == []
    assert after == before, "B changed A's objects"
    assert operations >= 30 and http_attempts >= 2 * operations
