"""Attack tests: forged, stale and misused JWTs are refused with 401, each attack counted.

Every attack runs against the real app (on both PostgreSQL servers); the module prints how
many were tried and refused at its end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api import conftest as api_fixtures
from tests.api.conftest import Api
from tests.security.conftest import Tally

# The app served by uvicorn and a logged-in user: the API tests' own fixtures.
tools = api_fixtures.tools
app = api_fixtures.app
live_url = api_fixtures.live_url
api = api_fixtures.api

pytestmark = pytest.mark.anyio

ME = "/api/v1/auth/me"


@dataclass
class Target:
    """What an attacker knows or has: a real user's id, their real tokens, and (for attacks
    that need a correctly signed token with one bad claim) the server's secret."""

    api: Api
    secret: str
    user_id: str
    access: str
    refresh: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(target: Target, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "assistant",
        "aud": "assistant-api",
        "sub": target.user_id,
        "email": target.api.email,
        "adm": True,
        "ver": 0,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _signed(target: Target, **changes: Any) -> str:
    return jwt.encode(_claims(target, **changes), target.secret, algorithm="HS256")


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A JWT signed with HMAC-SHA256 under any `key` and `header` (libraries refuse some)."""
    signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + _b64(signature)


def _rsa_pair() -> tuple[Any, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def alg_none(target: Target) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return header + "." + _b64(json.dumps(_claims(target)).encode()) + "."


def alg_none_capitalised(target: Target) -> str:
    header = _b64(json.dumps({"alg": "None", "typ": "JWT"}).encode())
    return header + "." + _b64(json.dumps(_claims(target)).encode()) + "."


def wrong_key(target: Target) -> str:
    return jwt.encode(_claims(target), "not-the-server-secret-" + "y" * 40, algorithm="HS256")


def rs256_signed_by_the_attacker(target: Target) -> str:
    private, _ = _rsa_pair()
    return jwt.encode(_claims(target), private, algorithm="RS256")


def hs256_with_a_public_key_as_secret(target: Target) -> str:
    _, public = _rsa_pair()
    return _hand_signed({"alg": "HS256", "typ": "JWT"}, _claims(target), public)


def hs512_with_the_right_secret(target: Target) -> str:
    header = {"alg": "HS512", "typ": "JWT"}
    signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims(target)).encode())
    signature = hmac.new(target.secret.encode(), signing.encode(), hashlib.sha512).digest()
    return signing + "." + _b64(signature)


def wrong_issuer(target: Target) -> str:
    return _signed(target, iss="someone-else")


def missing_issuer(target: Target) -> str:
    return _signed(target, iss=None)


def wrong_audience(target: Target) -> str:
    return _signed(target, aud="assistant-mcp")


def missing_audience(target: Target) -> str:
    return _signed(target, aud=None)


def expired(target: Target) -> str:
    now = int(time.time())
    return _signed(target, iat=now - 7200, exp=now - 3600)


def not_valid_before_the_future(target: Target) -> str:
    return _signed(target, nbf=int(time.time()) + 3600)


def issued_in_the_future(target: Target) -> str:
    now = int(time.time())
    return _signed(target, iat=now + 3600, exp=now + 7200)


def without_expiry(target: Target) -> str:
    return _signed(target, exp=None)


def another_users_id_unsigned_change(target: Target) -> str:
    header, _, signature = target.access.split(".")
    claims = jwt.decode(target.access, options={"verify_signature": False})
    claims["sub"] = "00000000-0000-0000-0000-000000000000"
    return header + "." + _b64(json.dumps(claims).encode()) + "." + signature


def refresh_token_as_access(target: Target) -> str:
    return target.refresh


def garbage(target: Target) -> str:
    return "eyJhbGciOiJIUzI1NiJ9.not-base64!.x"


BEARER_ATTACKS: list[Callable[[Target], str]] = [
    alg_none,
    alg_none_capitalised,
    wrong_key,
    rs256_signed_by_the_attacker,
    hs256_with_a_public_key_as_secret,
    hs512_with_the_right_secret,
    wrong_issuer,
    missing_issuer,
    wrong_audience,
    missing_audience,
    expired,
    not_valid_before_the_future,
    issued_in_the_future,
    without_expiry,
    another_users_id_unsigned_change,
    refresh_token_as_access,
    garbage,
]


@pytest.fixture(scope="module")
def tally(tally: Tally) -> Iterator[Counter[str]]:
    """Attempts and refusals of this module, added to the attack suite's table at its end."""
    counts: Counter[str] = Counter()
    yield counts
    count = tally.attack("JWT attacks")
    count.attempts += counts["attempts"]
    count.refusals += counts["refused"]
    accepted = counts["attempts"] - counts["refused"]
    count.findings += [f"a forged or misused token accepted ({n + 1})" for n in range(accepted)]


@pytest.fixture
async def target(api: Api) -> Target:
    login = await api.client.post(
        "/api/v1/auth/token", json={"email": api.email, "password": "password-123"}
    )
    tokens = login.json()
    return Target(
        api=api,
        secret=api.services.settings.jwt_secret(),
        user_id=api.user_id,
        access=tokens["access_token"],
        refresh=tokens["refresh_token"],
    )


def refused(response: httpx.Response, tally: Counter[str]) -> bool:
    """Whether the attempt got 401 with the JSON error shape; counted either way."""
    tally["attempts"] += 1
    body = response.json() if "json" in response.headers.get("content-type", "") else {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    ok = (
        response.status_code == 401
        and error.get("type") == "unauthorized"
        and isinstance(error.get("message"), str)
    )
    tally["refused"] += ok
    return ok


async def test_a_real_token_names_its_audience_and_works(target: Target) -> None:
    claims = jwt.decode(target.access, options={"verify_signature": False})
    assert claims["aud"] == "assistant-api" and claims["iss"] == "assistant"
    ok = await target.api.client.get(ME, headers={"authorization": f"Bearer {target.access}"})
    assert ok.status_code == 200


async def test_forged_or_misused_bearer_tokens_are_all_refused(
    target: Target, tally: Counter[str]
) -> None:
    accepted = []
    for attack in BEARER_ATTACKS:
        token = attack(target)
        response = await target.api.client.get(ME, headers={"authorization": f"Bearer {token}"})
        if not refused(response, tally):
            accepted.append((attack.__name__, response.status_code, response.text[:200]))
    assert accepted == []


async def test_an_access_token_is_not_a_refresh_token(target: Target, tally: Counter[str]) -> None:
    accepted = []
    for token in (target.access, _signed(target, jti="x"), _signed(target, typ="refresh")):
        response = await target.api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": token}
        )
        if not refused(response, tally):
            accepted.append((token, response.status_code))
    assert accepted == []


async def test_a_token_in_the_query_string_does_not_authenticate(
    target: Target, tally: Counter[str]
) -> None:
    accepted = []
    for parameter in ("access_token", "token", "api_key", "authorization", "jwt"):
        value = target.access if parameter != "authorization" else f"Bearer {target.access}"
        response = await target.api.client.get(ME, params={parameter: value})
        if not refused(response, tally):
            accepted.append(parameter)
    assert accepted == []


async def test_forged_tokens_over_the_websocket_are_refused(
    target: Target, live_url: str, tally: Counter[str]
) -> None:
    socket_url = live_url.replace("http", "ws") + "/api/v1/ws"
    accepted = []
    for attack in (refresh_token_as_access, wrong_audience, expired, alg_none, wrong_key):
        tally["attempts"] += 1
        async with websockets.connect(socket_url) as socket:
            await socket.send(json.dumps({"type": "auth", "token": attack(target)}))
            reply = json.loads(await socket.recv())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await socket.recv()
        if (
            reply.get("type") == "error"
            and reply["error"]["type"] == "unauthorized"
            and closed.value.rcvd is not None
            and closed.value.rcvd.code == 4401
        ):
            tally["refused"] += 1
        else:
            accepted.append(attack.__name__)
    # A token in the socket's query string is not a credential either.
    tally["attempts"] += 1
    async with websockets.connect(f"{socket_url}?access_token={target.access}") as socket:
        await socket.send(json.dumps({"type": "send", "conversation_id": "x", "content": "hi"}))
        reply = json.loads(await socket.recv())
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    if reply.get("type") == "error" and reply["error"]["type"] == "unauthorized":
        tally["refused"] += 1
    else:
        accepted.append("query string")
    assert accepted == []
