"""Access and refresh tokens on their own: what a token carries and which ones are refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from orchestrator.auth import TokenCodec
from orchestrator.auth.tokens import AUDIENCE, key_id
from orchestrator.domain import Unauthorized

SECRET = "a-test-secret-" + "x" * 40
NEW_SECRET = "the-next-secret-" + "n" * 40
USER = str(uuid.uuid4())


def _codec(secret: str = SECRET) -> TokenCodec:
    return TokenCodec(secret, access_minutes=5, refresh_days=1)


def test_an_access_token_names_its_user_role_and_version() -> None:
    pair, family = _codec().issue(user_id=USER, email="a@test.example", is_admin=True, version=3)
    claims = _codec().decode(pair.access_token, kind="access")
    assert (claims["sub"], claims["email"], claims["adm"], claims["ver"]) == (
        USER,
        "a@test.example",
        True,
        3,
    )
    assert claims["aud"] == AUDIENCE and pair.expires_in == 300
    refresh = _codec().decode(pair.refresh_token, kind="refresh")
    assert refresh["jti"] == pair.refresh_jti and uuid.UUID(family)


def test_a_refresh_keeps_its_family() -> None:
    _, family = _codec().issue(user_id=USER, email="a@test.example", is_admin=False)
    _, again = _codec().issue(user_id=USER, email="a@test.example", is_admin=False, family=family)
    assert again == family


def test_each_kind_of_token_is_refused_where_the_other_is_required() -> None:
    pair, _ = _codec().issue(user_id=USER, email="a@test.example", is_admin=False)
    with pytest.raises(Unauthorized):
        _codec().decode(pair.access_token, kind="refresh")
    with pytest.raises(Unauthorized):
        _codec().decode(pair.refresh_token, kind="access")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    pair, _ = _codec("another-secret-" + "y" * 40).issue(
        user_id=USER, email="a@test.example", is_admin=False
    )
    with pytest.raises(Unauthorized):
        _codec().decode(pair.access_token, kind="access")


def _signed(**claims: object) -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "iss": "assistant",
        "aud": AUDIENCE,
        "sub": USER,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    return jwt.encode(base | claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": datetime.now(UTC) - timedelta(minutes=5)}, id="expired"),
        pytest.param({"iat": datetime.now(UTC) + timedelta(hours=1)}, id="issued-in-the-future"),
        pytest.param({"aud": "another-audience"}, id="another-audience"),
        pytest.param({"iss": "someone-else"}, id="another-issuer"),
        pytest.param({"sub": "not-a-uuid"}, id="subject-not-a-user-id"),
    ],
)
def test_a_token_with_claims_we_never_issue_is_refused(claims: dict[str, object]) -> None:
    assert _codec().decode(_signed(), kind="access")["sub"] == USER
    with pytest.raises(Unauthorized):
        _codec().decode(_signed(**claims), kind="access")


def test_a_rotated_ring_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() -> None:
    old = TokenCodec(SECRET, access_minutes=5, refresh_days=1)
    before, _ = old.issue(user_id=USER, email="a@test.example", is_admin=False)
    rotated = TokenCodec(NEW_SECRET, access_minutes=5, refresh_days=1, previous=[SECRET])
    assert rotated.decode(before.access_token, kind="access")["sub"] == USER
    assert rotated.decode(before.refresh_token, kind="refresh")["sub"] == USER
    after, _ = rotated.issue(user_id=USER, email="a@test.example", is_admin=False)
    assert jwt.get_unverified_header(after.access_token)["kid"] == key_id(NEW_SECRET)
    assert jwt.get_unverified_header(before.access_token)["kid"] == key_id(SECRET)
    with pytest.raises(Unauthorized):  # the old ring does not know the new key
        old.decode(after.access_token, kind="access")


def test_a_token_signed_with_a_key_outside_the_ring_is_refused() -> None:
    dropped = TokenCodec(NEW_SECRET, access_minutes=5, refresh_days=1)
    stale, _ = _codec().issue(user_id=USER, email="a@test.example", is_admin=False)
    with pytest.raises(Unauthorized, match="key this server does not know"):
        dropped.decode(stale.access_token, kind="access")
    # A known kid does not help a token signed with another secret.
    claims = jwt.decode(stale.access_token, options={"verify_signature": False})
    forged = jwt.encode(claims, "forger-" + "f" * 40, "HS256", headers={"kid": key_id(SECRET)})
    with pytest.raises(Unauthorized, match="not valid"):
        _codec().decode(forged, kind="access")


def test_an_access_token_carries_its_session_and_a_kid_that_is_not_the_secret() -> None:
    pair, family = _codec().issue(user_id=USER, email="a@test.example", is_admin=False)
    assert _codec().decode(pair.access_token, kind="access")["sid"] == family
    kid = jwt.get_unverified_header(pair.access_token)["kid"]
    assert kid not in SECRET and len(kid) == 16
