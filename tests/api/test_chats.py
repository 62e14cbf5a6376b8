"""Chats through the HTTP API in-process, with the real worker and sandbox carrier."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from linq.types.chat import Chat
from linq.types.chat_create_response import ChatCreateResponse
from linq.types.chat_update_response import ChatUpdateResponse

from linq_server.store.schema import chat_changes, webhook_events
from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.support.messaging import new_chat, text
from tests.support.phones import new_phone
from tests.support.receiver import Answer, Receiver

TEXT = {"parts": [{"type": "text", "value": "Hello"}]}


async def create(world: World, to: list[str], message: dict[str, Any] | None = None, **extra: Any) -> Any:
    body = {"from": world.partner.lines[0], "to": to, "message": message or TEXT, **extra}
    return await world.http.post("/v3/chats", json=body)


async def events(world: World, event_type: str) -> list[dict[str, Any]]:
    async with world.services.db.read() as conn:
        rows = await conn.execute(sa.select(webhook_events.c.data).where(webhook_events.c.event_type == event_type))
        return [row.data for row in rows]


async def test_create_a_group_in_the_sdk_shape(world: World) -> None:
    alice, bob = new_phone(1), new_phone(2)
    response = await create(world, [alice, bob])
    assert response.status_code == 201
    created = ChatCreateResponse.model_validate(response.json()).chat
    assert created.is_group and created.service == "iMessage"
    assert [h.handle for h in created.handles] == [world.partner.lines[0], alice, bob]
    assert created.handles[0].is_me and created.handles[0].line_type == "iMessage"
    assert created.display_name == f"{alice}, {bob}"
    assert created.message.delivery_status == "queued" and created.message.parts[0].value == "Hello"  # type: ignore[union-attr]
    assert created.message.from_handle and created.message.from_handle.handle == world.partner.lines[0]
    (event,) = await events(world, "chat.created")
    assert event["id"] == created.id and "is_archived" not in event

    fetched = await world.http.get(f"/v3/chats/{created.id}")
    chat = Chat.model_validate(fetched.json())
    assert chat.is_archived is False and chat.group_chat_icon is None and chat.health_status.status == "HEALTHY"


async def test_the_same_recipients_reuse_the_chat(world: World) -> None:
    alice, bob = new_phone(1), new_phone(2)
    first = (await create(world, [alice, bob])).json()["chat"]
    again = await create(world, [bob, alice], {"parts": [{"type": "link", "value": "https://example.com"}]})
    assert again.status_code == 200  # an existing chat; the first-message rules no longer apply
    assert again.json()["chat"]["id"] == first["id"]
    assert len(await events(world, "chat.created")) == 1


@pytest.mark.parametrize(
    "message",
    [
        {"parts": [{"type": "link", "value": "https://example.com"}]},
        {"parts": [{"type": "text", "value": "see https://example.com"}]},
        {"parts": [{"type": "text", "value": "hi"}], "reply_to": {"message_id": "x"}},
        {"parts": [{"type": "text", "value": "hi"}], "effect": {"type": "screen", "name": "confetti"}},
    ],
)
async def test_first_message_rules(world: World, message: dict[str, Any]) -> None:
    assert_envelope(await create(world, [new_phone(1)], message), 400, 1005)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"parts": []}, 1004),
        ({"parts": [{"type": "text", "value": "a"}, {"type": "text", "value": "b"}]}, 1004),
        ({"parts": [{"type": "link", "value": "https://a.example"}, {"type": "text", "value": "b"}]}, 1004),
        ({"parts": [{"type": "text", "value": ""}]}, 1004),
        ({"parts": [{"type": "carrier-pigeon"}]}, 1004),
        ({"parts": "text"}, 1005),  # not even a list: the request's shape is wrong, not the message's content
    ],
)
async def test_invalid_parts(world: World, message: dict[str, Any], code: int) -> None:
    assert_envelope(await create(world, [new_phone(1)], message), 400, code)


async def test_create_errors(world: World) -> None:
    other = await make_partner(world.services.db)
    body = {"from": other.lines[0], "to": [new_phone(1)], "message": TEXT}
    assert_envelope(await world.http.post("/v3/chats", json=body), 403, 2006)
    assert_envelope(await world.http.post("/v3/chats", json={**body, "from": "2025550100"}), 400, 1002)
    assert_envelope(await create(world, []), 400, 1005)
    assert_envelope(await create(world, ["not-a-phone"]), 400, 1002)
    assert_envelope(await create(world, [world.partner.lines[0]]), 400, 1005)
    assert_envelope(await create(world, [new_phone(1) for _ in range(32)]), 400, 1005)
    missing = await world.http.post("/v3/chats", json={"from": world.partner.lines[0], "to": [new_phone(1)]})
    assert_envelope(missing, 400, 1001)


@pytest.mark.parametrize(
    ("last_digits", "preferred", "service"),
    [((1, 2), None, "iMessage"), ((1, 7), None, "RCS"), ((1, 9), None, "SMS"), ((1, 2), "SMS", "SMS"),
     ((1, 7), "iMessage", "RCS")],
)  # fmt: skip
async def test_service_is_the_first_everyone_can_receive(
    world: World, last_digits: tuple[int, int], preferred: str | None, service: str
) -> None:
    message = {**TEXT, "preferred_service": preferred} if preferred else TEXT
    response = await create(world, [new_phone(d) for d in last_digits], message)
    assert response.json()["chat"]["service"] == service
    assert {h["service"] for h in response.json()["chat"]["handles"]} == {service}


async def test_recipients_with_no_common_service_are_refused(world: World) -> None:
    assert_envelope(await create(world, ["someone@example.com", new_phone(9)]), 400, 1005)


async def test_another_partners_chat_is_not_found(world: World) -> None:
    chat_id = (await create(world, [new_phone(1)])).json()["chat"]["id"]
    other = await make_partner(world.services.db)
    headers = {"Authorization": f"Bearer {other.api_key}"}
    assert_envelope(await world.http.get(f"/v3/chats/{chat_id}", headers=headers), 404, 2001, "Resource not found")
    assert_envelope(await world.http.get("/v3/chats/not-a-uuid"), 404, 2001)
    listed = await world.http.get("/v3/chats", headers=headers)
    assert listed.json() == {"chats": [], "next_cursor": None}
    add = await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": new_phone(1)}, headers=headers)
    assert_envelope(add, 404, 2001)


async def test_list_pages_newest_first_with_filters(world: World) -> None:
    carol = new_phone(3)
    ids = []
    for n in range(5):
        world.clock.advance(1)  # newest first: make creation times distinct
        ids.append((await create(world, [new_phone(1), carol] if n % 2 else [new_phone(1)])).json()["chat"]["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await world.http.get("/v3/chats", params=params)).json()
        assert len(page["chats"]) <= 2
        seen += [chat["id"] for chat in page["chats"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    with_carol = (await world.http.get("/v3/chats", params={"to": carol})).json()["chats"]
    assert [chat["id"] for chat in with_carol] == [ids[3], ids[1]]
    on_line = (await world.http.get("/v3/chats", params={"from": world.partner.lines[0]})).json()["chats"]
    assert len(on_line) == 5
    assert_envelope(await world.http.get("/v3/chats", params={"cursor": "garbage!"}), 400, 1005)
    assert_envelope(await world.http.get("/v3/chats", params={"limit": 0}), 400, 1005)
    assert_envelope(await world.http.get("/v3/chats", params={"limit": 101}), 400, 1005)


async def test_rename_is_queued_then_applied_and_the_group_is_no_longer_reused(world: World) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = (await create(world, [alice, bob])).json()["chat"]["id"]
    response = await world.http.put(f"/v3/chats/{chat_id}", json={"display_name": "Team"})
    assert response.status_code == 202
    assert ChatUpdateResponse.model_validate(response.json()).status == "pending"
    await world.worker.run_until_idle()
    assert (await world.http.get(f"/v3/chats/{chat_id}")).json()["display_name"] == "Team"
    (event,) = await events(world, "chat.group_name_updated")
    assert (event["old_value"], event["new_value"]) == (f"{alice}, {bob}", "Team")
    assert event["changed_by_handle"]["is_me"] is True
    assert (await create(world, [alice, bob])).json()["chat"]["id"] != chat_id

    icon = await world.http.put(f"/v3/chats/{chat_id}", json={"group_chat_icon": "https://example.com/i.png"})
    assert icon.status_code == 202
    await world.worker.run_until_idle()
    assert (await world.http.get(f"/v3/chats/{chat_id}")).json()["group_chat_icon"] == "https://example.com/i.png"
    assert len(await events(world, "chat.group_icon_updated")) == 1


async def test_update_errors(world: World) -> None:
    dm = (await create(world, [new_phone(1)])).json()["chat"]["id"]
    group = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    response = await world.http.put(f"/v3/chats/{dm}", json={"display_name": "x"})
    assert_envelope(response, 409, 1006, "Cannot update direct message chats")
    assert response.headers["x-should-retry"] == "false"
    assert_envelope(await world.http.put(f"/v3/chats/{group}", json={}), 400, 1001)
    assert_envelope(await world.http.put(f"/v3/chats/{group}", json={"group_chat_icon": "nope"}), 400, 1005)


async def test_a_refused_change_is_recorded_and_leaves_the_chat_unchanged(world: World) -> None:
    carol = new_phone(3)
    put = await world.http.put(
        f"http://testserver/sandbox/handles/{carol}",
        json={"services": ["iMessage", "SMS"], "failing_operations": ["add"]},
    )
    assert put.json() == {"handle": carol, "services": ["iMessage", "SMS"], "failing_operations": ["add"],
                          "delivery_ms": None, "auto_read_ms": None, "offline": False, "replies": [],
                          "blocked": False}  # fmt: skip
    chat_id = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    assert (await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": carol})).status_code == 202
    await world.worker.run_until_idle()
    handles = [h["handle"] for h in (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"]]
    assert carol not in handles and await events(world, "participant.added") == []
    async with world.services.db.read() as conn:
        (change,) = (await conn.execute(sa.select(chat_changes).where(chat_changes.c.chat_id == chat_id))).all()
    assert change.status == "failed" and carol in change.error

    line = world.partner.lines[0]
    fault = {"services": ["iMessage"], "failing_operations": ["rename"]}
    await world.http.put(f"http://testserver/sandbox/handles/{line}", json=fault)
    await world.http.put(f"/v3/chats/{chat_id}", json={"display_name": "Nope"})
    await world.worker.run_until_idle()
    (failed,) = await events(world, "chat.group_name_update_failed")
    assert failed["chat_id"] == chat_id and failed["error_code"] == 4001 and failed["failed_at"]


async def test_leave_rules(world: World) -> None:
    dm = (await create(world, [new_phone(1)])).json()["chat"]["id"]
    small = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    sms = (await create(world, [new_phone(9), new_phone(9), new_phone(9)])).json()["chat"]["id"]
    assert_envelope(await world.http.post(f"/v3/chats/{dm}/leave"), 409, 2015)
    assert_envelope(await world.http.post(f"/v3/chats/{small}/leave"), 409, 2015)
    assert_envelope(await world.http.post(f"/v3/chats/{sms}/leave"), 409, 2017)


async def test_mark_read_answers_204(world: World) -> None:
    chat_id = (await create(world, [new_phone(1)])).json()["chat"]["id"]
    response = await world.http.post(f"/v3/chats/{chat_id}/read")
    assert response.status_code == 204 and response.content == b""


async def test_sandbox_handles(world: World) -> None:
    android = new_phone(7)
    described = await world.http.get(f"http://testserver/sandbox/handles/{android}")
    assert described.json() == {"handle": android, "services": ["RCS", "SMS"], "failing_operations": [],
                                "delivery_ms": None, "auto_read_ms": None, "offline": False, "replies": [],
                                "blocked": False}  # fmt: skip
    assert (await world.http.get("http://testserver/sandbox/handles/a@b.co")).json()["services"] == ["iMessage"]
    bad = await world.http.put(f"http://testserver/sandbox/handles/{android}", json={"services": ["Carrier Pigeon"]})
    assert_envelope(bad, 400, 1005)
    anonymous = await world.http.get(f"http://testserver/sandbox/handles/{android}", headers={"Authorization": ""})
    assert_envelope(anonymous, 401, 2004)


async def test_a_new_chat_is_announced_before_its_first_message(world: World, receiver: Receiver) -> None:
    receiver.default = Answer(delay_seconds=0.3)  # each answer takes a while: a racing delivery would overlap it
    await world.subscribe(receiver.url, ["chat.created", "message.sent"])
    await new_chat(world, [new_phone(1)], text("first"))
    await world.worker.run_until_idle()

    created, sent = await receiver.wait_for_async(2)
    assert (created.headers["x-webhook-event"], sent.headers["x-webhook-event"]) == ("chat.created", "message.sent")
    assert sent.at >= created.at + 0.3  # message.sent went out once chat.created had been answered
