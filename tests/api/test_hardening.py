"""Inputs that once could reach the database or the network badly: each gets a clear 4xx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_errors import assert_envelope
from tests.conftest import World
from tests.support.phones import new_phone

TEXT = {"parts": [{"type": "text", "value": "Hello"}]}


async def group(world: World, size: int = 2) -> str:
    body = {"from": world.partner.lines[0], "to": [new_phone(1) for _ in range(size)], "message": TEXT}
    response = await world.http.post("/v3/chats", json=body)
    assert response.status_code == 201
    return str(response.json()["chat"]["id"])


@pytest.mark.parametrize("chat_id", ["%00", "not-a-uuid", "00000000-0000-0000-0000-00000000000g"])
async def test_ids_that_are_not_uuids_name_nothing(world: World, chat_id: str) -> None:
    for method in ("POST", "DELETE"):
        response = await world.http.request(method, f"/v3/chats/{chat_id}/participants", json={"handle": new_phone(1)})
        assert_envelope(response, 404, 2001)
    assert_envelope(await world.http.get(f"/v3/chats/{chat_id}"), 404, 2001)
    assert_envelope(await world.http.get(f"/v3/webhook-subscriptions/{chat_id}"), 404, 2010)


async def test_an_uppercase_uuid_names_the_same_chat(world: World) -> None:
    chat_id = await group(world)
    assert (await world.http.get(f"/v3/chats/{chat_id.upper()}")).json()["id"] == chat_id


@pytest.mark.parametrize("name", ["nul\x00byte", "lone \ud800 surrogate"])
async def test_text_that_cannot_be_stored_is_refused(world: World, name: str) -> None:
    chat_id = await group(world)
    body = ('{"display_name": "' + name.encode("unicode_escape").decode().replace("\\x00", "\\u0000") + '"}').encode()
    response = await world.http.put(f"/v3/chats/{chat_id}", content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, 1005)


async def test_urls_that_do_not_parse_are_refused(world: World) -> None:
    chat_id = await group(world)
    assert_envelope(await world.http.put(f"/v3/chats/{chat_id}", json={"group_chat_icon": "http://[::1"}), 400, 1005)
    link = {"parts": [{"type": "link", "value": "http://[::1"}]}
    response = await world.http.post(
        "/v3/chats", json={"from": world.partner.lines[0], "to": [new_phone(1)], "message": link}
    )
    assert_envelope(response, 400, 1004)
    bad_host = {"target_url": "http://a..b/hook", "subscribed_events": ["message.sent"]}
    assert_envelope(await world.http.post("/v3/webhook-subscriptions", json=bad_host), 400, 1005)
    long_header = {"target_url": "https://example.com/h", "subscribed_events": ["message.sent"],
                   "routing_key_header": "X" * 101}  # fmt: skip
    assert_envelope(await world.http.post("/v3/webhook-subscriptions", json=long_header), 400, 1005)


@pytest.mark.parametrize(("handle", "code"), [(None, 1001), (123, 1002), ([], 1002), ("", 1002)])
async def test_handle_values(world: World, handle: Any, code: int) -> None:
    chat_id = await group(world)
    response = await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": handle})
    assert_envelope(response, 400, code)


async def test_once_leaving_is_queued_the_chat_takes_no_more_changes(world: World) -> None:
    chat_id = await group(world, size=3)
    assert (await world.http.post(f"/v3/chats/{chat_id}/leave")).status_code == 202
    for response in (
        await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": new_phone(1)}),
        await world.http.put(f"/v3/chats/{chat_id}", json={"display_name": "late"}),
        await world.http.post(f"/v3/chats/{chat_id}/leave"),
    ):
        assert_envelope(response, 409, 2013)
    await world.worker.run_until_idle()
    assert (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"][0]["status"] == "left"


async def test_sandbox_overrides_replace_each_other(world: World) -> None:
    handle = new_phone(1)
    for services in (["SMS"], ["RCS", "SMS"]):
        response = await world.http.put(f"http://testserver/sandbox/handles/{handle}", json={"services": services})
        assert response.status_code == 200
    assert (await world.http.get(f"http://testserver/sandbox/handles/{handle}")).json()["services"] == ["RCS", "SMS"]


async def test_a_forged_cursor_is_refused(world: World) -> None:
    import base64

    for inner in ("2026-01-01T00:00:00+00:00|\x00", "2026-01-01T00:00:00+00:00|x", "yesterday|x"):
        cursor = base64.urlsafe_b64encode(inner.encode()).decode()
        assert_envelope(await world.http.get("/v3/chats", params={"cursor": cursor}), 400, 1005)


async def test_a_media_url_sent_to_a_chat_that_is_not_yours_is_404_before_it_is_read(world: World) -> None:
    nobody_listens = "https://127.0.0.1:1/photo.jpg"  # reading it would fail: the chat must be found wanting first
    body = {"message": {"parts": [{"type": "media", "url": nobody_listens}]}}
    response = await world.http.post("/v3/chats/00000000-0000-4000-8000-000000000000/messages", json=body)
    assert_envelope(response, 404, 2001)
