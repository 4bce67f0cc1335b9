"""Pinned conversations: stored, listed first, paged correctly."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def _pin(api: Api, conversation: str, pinned: bool) -> dict[str, object]:
    response = await api.client.patch(
        f"/api/v1/conversations/{conversation}", json={"pinned": pinned}, headers=api.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _all_pages(api: Api, limit: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(50):
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await api.client.get("/api/v1/conversations", params=params, headers=api.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("paging did not end")


async def test_a_pinned_conversation_lists_first_and_unpinning_puts_it_back(api: Api) -> None:
    oldest, middle, newest = [await api.conversation() for _ in range(3)]
    pinned = await _pin(api, oldest, True)
    assert pinned["pinned"] is True and pinned["id"] == oldest
    listed = (await api.client.get("/api/v1/conversations", headers=api.headers)).json()["items"]
    assert [item["id"] for item in listed] == [oldest, newest, middle]
    assert [item["pinned"] for item in listed] == [True, False, False]

    detail = (await api.client.get(f"/api/v1/conversations/{oldest}", headers=api.headers)).json()
    assert detail["pinned"] is True

    assert (await _pin(api, oldest, False))["pinned"] is False
    listed = (await api.client.get("/api/v1/conversations", headers=api.headers)).json()["items"]
    assert [item["id"] for item in listed] == [newest, middle, oldest]


async def test_pinning_keeps_the_conversations_date(api: Api) -> None:
    conversation = await api.conversation()
    before = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    after = await _pin(api, conversation, True)
    assert after["updated_at"] == before["updated_at"]


async def test_paging_with_pins_returns_every_conversation_once_in_order(api: Api) -> None:
    created = [await api.conversation() for _ in range(9)]
    pins = {created[1], created[4], created[6], created[8]}
    for conversation in pins:
        await _pin(api, conversation, True)
    newest_first = list(reversed(created))
    expected = [c for c in newest_first if c in pins] + [c for c in newest_first if c not in pins]
    for limit in (1, 2, 3, 4, 5):
        assert [item["id"] for item in await _all_pages(api, limit)] == expected, limit


async def test_a_title_and_a_pin_change_together(api: Api) -> None:
    conversation = await api.conversation()
    response = await api.client.patch(
        f"/api/v1/conversations/{conversation}",
        json={"title": "  Keep this  ", "pinned": True},
        headers=api.headers,
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Keep this" and response.json()["pinned"] is True


@pytest.mark.parametrize(
    "body",
    [{}, {"pinned": "yes"}, {"pinned": None}, {"pinned": True, "color": "red"}, {"title": " "}],
)
async def test_a_bad_patch_is_refused_and_changes_nothing(
    api: Api, body: dict[str, object]
) -> None:
    conversation = await api.conversation()
    response = await api.client.patch(
        f"/api/v1/conversations/{conversation}", json=body, headers=api.headers
    )
    assert response.status_code == 422
    assert set(response.json()["error"]) >= {"type", "message"}
    detail = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    assert detail["pinned"] is False and detail["title"] == "New conversation"


async def test_another_users_conversation_cannot_be_pinned(api: Api) -> None:
    conversation = await api.conversation()
    other = await api.as_new_user()
    response = await other.client.patch(
        f"/api/v1/conversations/{conversation}", json={"pinned": True}, headers=other.headers
    )
    assert response.status_code == 404
    listed = (await api.client.get("/api/v1/conversations", headers=api.headers)).json()["items"]
    assert listed[0]["pinned"] is False


async def test_a_forged_cursor_is_a_clear_error(api: Api) -> None:
    response = await api.client.get(
        "/api/v1/conversations", params={"cursor": "WzEsMiwzLDRd"}, headers=api.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "The cursor is not one this API returned."
