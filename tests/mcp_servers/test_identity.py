import time

import jwt
import pytest
from mcp import MCPError

from mcp_servers.identity import (
    USER_TOKEN_META_KEY,
    Caller,
    CallerResolver,
    InvalidToken,
    ServiceTokens,
    sign_service_token,
    sign_user_token,
)

SECRET = "s" * 48


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "assistant",
        "aud": "mcp:files",
        "sub": "alice",
        "iat": now,
        "exp": now + 60,
        "jti": "1",
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, "HS256")


def test_a_user_token_names_its_user() -> None:
    caller = ServiceTokens(SECRET, "files").verify_user_token(
        sign_user_token(SECRET, "files", "u1")
    )
    assert (caller.kind, caller.user_id) == ("user", "u1")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_token(aud="mcp:knowledge"), id="another-server"),
        pytest.param(_token(iss="someone"), id="wrong-issuer"),
        pytest.param(_token(exp=int(time.time()) - 120), id="expired"),
        pytest.param(_token(exp=int(time.time()) + 3600), id="lives-an-hour"),
        pytest.param(_token(jti=None), id="no-jti"),
        pytest.param(_token(sub=""), id="empty-subject"),
        pytest.param(jwt.encode({"sub": "x"}, "other-secret-" * 4, "HS256"), id="other-secret"),
        pytest.param(
            jwt.encode({"iss": "assistant", "aud": "mcp:files", "sub": "x"}, None, "none"),
            id="unsigned",
        ),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_bad_user_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        ServiceTokens(SECRET, "files").verify_user_token(token)


def test_the_raw_service_token_is_refused_as_a_bearer() -> None:
    tokens = ServiceTokens(SECRET, "files")
    assert tokens.authenticate(SECRET) is None
    assert tokens.authenticate(SECRET + "x") is None


def test_a_service_token_for_this_server_is_service_access_without_a_user() -> None:
    tokens = ServiceTokens(SECRET, "files")
    assert tokens.authenticate(sign_service_token(SECRET, "files")) == Caller("service", None)
    assert tokens.authenticate(sign_service_token(SECRET, "knowledge")) is None
    assert tokens.authenticate(sign_service_token(SECRET, "files", seconds=3600)) is None
    assert tokens.authenticate(sign_service_token("other-secret-" * 4, "files")) is None


def test_a_service_token_never_passes_for_a_user() -> None:
    tokens = ServiceTokens(SECRET, "files")
    with pytest.raises(InvalidToken):
        tokens.verify_user_token(sign_service_token(SECRET, "files"))
    meta = {USER_TOKEN_META_KEY: sign_service_token(SECRET, "files")}
    with pytest.raises(MCPError):
        CallerResolver(tokens).resolve(None, meta)


def test_a_meta_token_cannot_name_another_user_than_the_bearer() -> None:
    resolver = CallerResolver(ServiceTokens(SECRET, "files"))
    bearer = Caller("user", "alice", "t")
    meta = {USER_TOKEN_META_KEY: sign_user_token(SECRET, "files", "bob")}
    with pytest.raises(MCPError):
        resolver.resolve(bearer, meta)


def test_service_access_with_a_meta_token_acts_for_that_user() -> None:
    resolver = CallerResolver(ServiceTokens(SECRET, "files"))
    meta = {USER_TOKEN_META_KEY: sign_user_token(SECRET, "files", "bob")}
    assert resolver.resolve(Caller("service", None), meta).user_id == "bob"


def test_tool_arguments_never_name_the_user_only_the_token_does() -> None:
    resolver = CallerResolver(ServiceTokens(SECRET, "files"))
    assert resolver.resolve(None, {"user_id": "bob"}).user_id is None
