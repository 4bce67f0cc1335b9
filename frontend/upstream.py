"""The orchestrator's HTTP API as the front end uses it: log in, refresh, call, follow events.

A thin layer over one pooled `httpx.Client` (gevent makes its blocking calls cooperative).
Errors keep the orchestrator's JSON shape so that the browser sees the same messages a
terminal user would. Each call made while serving a browser's request says whose address
it is (`X-Forwarded-For`), so the orchestrator's audit log records the browser's address,
not ours; the orchestrator believes it only from trusted proxies (`FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from flask import has_request_context
from flask import request as incoming
from httpx_sse import SSEError, connect_sse

__all__ = ["ApiError", "Event", "Orchestrator", "Tokens", "Unauthorized", "Unreachable"]

logger = logging.getLogger(__name__)

# The orchestrator writes a comment every 15 s of silence: past this, the stream is dead.
_STREAM_READ_SECONDS = 45.0


class ApiError(Exception):
    """The orchestrator answered with an error; `body` is its `{"error": ...}` document."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        super().__init__(error.get("message") or f"HTTP {status}")
        self.status = status
        self.body = body if error else {"error": {"type": "upstream", "message": str(self)}}


class Unauthorized(ApiError):
    """The token was refused (expired, revoked, or the account is gone)."""


class Unreachable(Exception):
    """The orchestrator did not answer."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """An access token, the refresh token that renews it, and when the access token ends."""

    access: str
    refresh: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Event:
    """One run event as the orchestrator numbered it."""

    id: int
    name: str
    data: dict[str, Any]


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    kind = Unauthorized if response.status_code == 401 else ApiError
    return kind(response.status_code, body)


def _forward_address(request: httpx.Request) -> None:
    """Name the browser behind a call made while serving it (see the module)."""
    if has_request_context() and incoming.remote_addr:
        request.headers["X-Forwarded-For"] = incoming.remote_addr


class Orchestrator:
    """A client of the orchestrator's `/api/v1` for one front-end process."""

    def __init__(
        self, base_url: str, *, connections: int = 500, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.base_url = base_url
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=50)
        # Under mutual TLS, `verify` presents our certificate and trusts only our CA.
        self._http = httpx.Client(
            base_url=f"{base_url}/api/v1",
            timeout=httpx.Timeout(30.0, connect=5.0),
            limits=limits,
            verify=verify,
            event_hooks={"request": [_forward_address]},
        )

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Unreachable(f"The orchestrator at {self.base_url} did not answer.") from error
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _tokens(self, response: httpx.Response, now: float) -> Tokens:
        body = response.json()
        return Tokens(body["access_token"], body["refresh_token"], now + body["expires_in"])

    def login(self, email: str, password: str, now: float) -> Tokens:
        """Raises: Unauthorized (wrong email or password), ApiError, Unreachable."""
        response = self._send("POST", "/auth/token", json={"email": email, "password": password})
        return self._tokens(response, now)

    def login_methods(self) -> dict[str, Any]:
        """How one may log in: `{"local": bool, "oidc": {"name", "login_url"} | None}`.

        Raises: ApiError, Unreachable.
        """
        return self._send("GET", "/auth/providers").json()

    def exchange_sso(self, code: str, verifier: str, now: float) -> Tokens:
        """The token pair for a single-use code from the OIDC callback.

        Raises: Unauthorized (used, expired, or not this client's), ApiError, Unreachable.
        """
        body = {"code": code, "code_verifier": verifier}
        return self._tokens(self._send("POST", "/auth/oidc/exchange", json=body), now)

    def refresh(self, refresh_token: str, now: float) -> Tokens:
        """A new pair for a refresh token (which is spent). Raises: Unauthorized, Unreachable."""
        response = self._send("POST", "/auth/refresh", json={"refresh_token": refresh_token})
        return self._tokens(response, now)

    def call(
        self, method: str, path: str, access: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response:
        """One API call as the user. Raises: Unauthorized, ApiError, Unreachable."""
        headers = {"Authorization": f"Bearer {access}"}
        return self._send(method, path, headers=headers, json=json, params=params)

    def open_stream(
        self,
        method: str,
        path: str,
        access: str,
        *,
        content: Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A response whose body is read as it arrives (the caller closes it); `content`
        is sent as it is produced. For file uploads and downloads, never held whole.

        Raises: Unauthorized, ApiError, Unreachable.
        """
        sent = {"Authorization": f"Bearer {access}", **(headers or {})}
        timeout = httpx.Timeout(120.0, connect=5.0)
        request = self._http.build_request(
            method, path, headers=sent, content=content, timeout=timeout
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as error:
            raise Unreachable(f"The orchestrator at {self.base_url} did not answer.") from error
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
            raise _error(response)
        return response

    def events(self, run_id: str, after: int, access: str) -> Iterator[Event]:
        """The run's events after `after`, live until it ends; empty when there are none left.

        Raises:
            Unauthorized, ApiError: the orchestrator refused.
            httpx.TransportError, SSEError: the stream broke (the caller resumes).
        """
        headers = {"Authorization": f"Bearer {access}", "Last-Event-ID": str(after)}
        timeout = httpx.Timeout(30.0, connect=5.0, read=_STREAM_READ_SECONDS)
        with connect_sse(
            self._http, "GET", f"/runs/{run_id}/events", headers=headers, timeout=timeout
        ) as source:
            response = source.response
            if response.status_code == 204:
                return
            if response.status_code >= 400:
                response.read()
                raise _error(response)
            for sse in source.iter_sse():
                if not sse.id:
                    continue
                try:
                    data = sse.json()
                except ValueError as error:
                    raise SSEError(f"event {sse.id} is not JSON") from error
                yield Event(int(sse.id), sse.event, data if isinstance(data, dict) else {})
