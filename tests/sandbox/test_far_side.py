"""The far side acts: a handle sends, reacts, reads, types until its indicator lapses, and answers by
itself (``replies``), in-process with a real worker, a real receiver and a manual clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from linq.types import Message

from linq_server.config import Settings
from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner, open_world
from tests.sandbox.test_accounts_and_clock import client
from tests.sandbox.test_handle_actions import group
from tests.support.phones import new_phone
from tests.support.receiver import Receiver

SANDBOX = "http://testserver/sandbox/handles"


def text(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "value": value}]


def hooks(receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    """What arrived so far, as (event_type, data). Deliveries run concurrently (on PostgreSQL truly so):
    their arrival order is not the order of the events."""
    return [(event["event_type"], event["data"]) for event in (json.loads(hit.body) for hit in receiver.received)]


async def arrived(receiver: Receiver, count: int) -> list[tuple[str, dict[str, Any]]]:
    await receiver.wait_for_async(count)
    return hooks(receiver)


def kinds(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return sorted(kind for kind, _ in events)


def of(events: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [data for event_type, data in events if event_type == kind]


async def everything(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url, [
        "chat.created", "message.received", "message.read", "message.delivered", "reaction.added",
        "reaction.removed", "chat.typing_indicator.started", "chat.typing_indicator.stopped",
    ])  # fmt: skip


async def settle(world: World) -> None:
    """Run every job that is due (deliveries to the receiver included)."""
    await world.worker.run_until_idle()


async def send_as(world: World, handle: str, **body: Any) -> httpx.Response:
    return await world.http.post(f"{SANDBOX}/{handle}/messages", json=body)


async def dm(world: World, handle: str, value: str = "hi") -> dict[str, Any]:
    """The partner texts ``handle``: the chat and its message."""
    body = {"from": world.partner.lines[0], "to": [handle], "message": {"parts": text(value)}}
    response = await world.http.post("/v3/chats", json=body)
    assert response.status_code in (200, 201), response.text  # 200: an existing DM is reused
    chat: dict[str, Any] = response.json()["chat"]
    return chat


async def test_a_handle_texts_the_line_and_starts_a_dm(world: World, receiver: Receiver) -> None:
    await everything(world, receiver)
    alice = new_phone(1)
    response = await send_as(world, alice, to=world.partner.lines[0], parts=text("hello there"))
    assert response.status_code == 201, response.text
    message = Message.model_validate(response.json())
    assert message.is_from_me is False and message.delivery_status == "received"
    assert message.from_handle is not None and message.from_handle.handle == alice
    assert (await world.http.get(f"/v3/messages/{message.id}")).json() == response.json()
    again = await send_as(world, alice, to=world.partner.lines[0], parts=text("me again"))
    assert again.json()["chat_id"] == message.chat_id
    await settle(world)
    events = await arrived(receiver, 3)
    assert kinds(events) == ["chat.created", "message.received", "message.received"]
    (created,) = of(events, "chat.created")
    (first,) = [data for data in of(events, "message.received") if data["id"] == message.id]
    assert created["id"] == message.chat_id and first["direction"] == "inbound"
    assert first["sender_handle"]["handle"] == alice and first["parts"][0]["value"] == "hello there"


async def test_a_handle_sends_media_by_url_and_never_the_partners_uploads(world: World) -> None:
    alice = new_phone(1)
    photo = {"type": "media", "url": "https://example.com/photos/cat.jpg"}
    response = await send_as(world, alice, to=world.partner.lines[0], parts=[photo])
    assert response.status_code == 201, response.text
    (part,) = Message.model_validate(response.json()).parts
    assert part.type == "media" and part.url == photo["url"] and part.id  # type: ignore[union-attr]
    upload = {"filename": "a.png", "content_type": "image/png", "size_bytes": 3}
    attachment_id = (await world.http.post("/v3/attachments", json=upload)).json()["attachment_id"]
    by_id = [{"type": "media", "attachment_id": attachment_id}]
    assert_envelope(await send_as(world, alice, to=world.partner.lines[0], parts=by_id), 400, 1005)


async def test_stop_from_the_handle_opts_it_out_of_the_partners_sends(world: World) -> None:
    alice = new_phone(1)
    chat = await dm(world, alice)
    assert (await send_as(world, alice, chat_id=chat["id"], parts=text("STOP"))).status_code == 201
    refused = await world.http.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": text("hey")}})
    assert_envelope(refused, 403, 2024)
    assert (await send_as(world, alice, to=world.partner.lines[0], parts=text("ok again"))).status_code == 201
    again = await world.http.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": text("hey")}})
    assert again.status_code == 202, again.text


async def test_a_member_replies_in_a_thread_of_a_group(world: World, receiver: Receiver) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = await group(world, [alice, bob])
    first = (await world.http.get(f"/v3/chats/{chat_id}/messages")).json()["messages"][0]["id"]
    await settle(world)  # delivered before the receiver listens
    await everything(world, receiver)
    reply_to = {"message_id": first, "part_index": 0}
    response = await send_as(world, bob, chat_id=chat_id, parts=text("agreed"), reply_to=reply_to)
    assert response.status_code == 201, response.text
    assert response.json()["reply_to"] == reply_to
    thread = (await world.http.get(f"/v3/messages/{first}/thread")).json()["messages"]
    assert {m["id"] for m in thread} == {first, response.json()["id"]}
    await settle(world)
    ((kind, data),) = await arrived(receiver, 1)
    assert kind == "message.received" and data["reply_to"] == reply_to and data["chat"]["is_group"] is True


async def test_sends_that_cannot_happen_answer_the_envelope(world: World) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = await group(world, [alice, bob])
    line = world.partner.lines[0]
    assert_envelope(await send_as(world, new_phone(3), chat_id=chat_id, parts=text("x")), 409, 2015)
    assert_envelope(await send_as(world, line, chat_id=chat_id, parts=text("x")), 409, 2015)
    assert_envelope(await send_as(world, line, to=line, parts=text("x")), 409, 2015)
    assert_envelope(await send_as(world, alice, to=new_phone(0), parts=text("x")), 403, 2006)
    assert_envelope(await send_as(world, alice, parts=text("x")), 400, 1001)
    assert_envelope(await send_as(world, alice, chat_id=chat_id, parts=[]), 400, 1004)
    assert_envelope(await send_as(world, alice, chat_id="nope", parts=text("x")), 404, 2001)
    missing = {"message_id": "00000000-0000-4000-8000-000000000000"}
    assert_envelope(await send_as(world, alice, chat_id=chat_id, parts=text("x"), reply_to=missing), 404, 2002)
    assert_envelope(await send_as(world, "not a handle", chat_id=chat_id, parts=text("x")), 400, 1002)


async def test_a_handle_reacts_and_takes_it_back(world: World, receiver: Receiver) -> None:
    alice = new_phone(1)
    chat = await dm(world, alice)
    message_id = chat["message"]["id"]
    await everything(world, receiver)

    async def react(operation: str, kind: str, **extra: Any) -> httpx.Response:
        body = {"message_id": message_id, "operation": operation, "type": kind, **extra}
        return await world.http.post(f"{SANDBOX}/{alice}/reactions", json=body)

    assert (await react("add", "love")).status_code == 202
    assert (await react("add", "custom", custom_emoji="🎉")).status_code == 202  # replaces the love
    shown = (await world.http.get(f"/v3/messages/{message_id}")).json()["parts"][0]["reactions"]
    assert [(r["type"], r["custom_emoji"], r["is_me"], r["handle"]["handle"]) for r in shown] == [
        ("custom", "🎉", False, alice)
    ]
    assert (await react("remove", "custom", custom_emoji="🎉")).status_code == 202
    await settle(world)
    events = [(kind, data) for kind, data in await arrived(receiver, 4) if kind.startswith("reaction.")]
    assert sorted((kind, data["reaction_type"]) for kind, data in events) == [
        ("reaction.added", "custom"), ("reaction.added", "love"), ("reaction.removed", "custom"),
        ("reaction.removed", "love"),
    ]  # fmt: skip
    added = {data["reaction_type"]: data["reaction_id"] for data in of(events, "reaction.added")}
    assert {data["reaction_type"]: data["reaction_id"] for data in of(events, "reaction.removed")} == added
    for _, data in events:
        assert data["is_from_me"] is False and data["from_handle"]["handle"] == alice and data["from"] == alice
        assert data["message_id"] == message_id and data["chat_id"] == chat["id"] and data["part_index"] == 0
    assert (await world.http.get(f"/v3/messages/{message_id}")).json()["parts"][0]["reactions"] == []


async def test_reactions_that_cannot_happen_answer_the_envelope(world: World) -> None:
    alice, basic_phone = new_phone(1), new_phone(9)
    message_id = (await dm(world, alice))["message"]["id"]
    sms_message = (await dm(world, basic_phone))["message"]["id"]

    async def react(handle: str, message: str, **body: Any) -> httpx.Response:
        payload = {"message_id": message, "operation": "add", "type": "like", **body}
        return await world.http.post(f"{SANDBOX}/{handle}/reactions", json=payload)

    refused = await react(basic_phone, sms_message)
    assert_envelope(refused, 409, 2017)
    assert "SMS" in refused.json()["error"]["message"]
    assert_envelope(await react(new_phone(2), message_id), 409, 2015)
    assert_envelope(await react(world.partner.lines[0], message_id), 409, 2015)
    assert_envelope(await react(alice, "00000000-0000-4000-8000-000000000000"), 404, 2002)
    assert_envelope(await react(alice, message_id, type="wink"), 400, 1005)
    assert_envelope(await react(alice, message_id, part_index=3), 400, 1005)
    assert_envelope(await react(alice, message_id, operation="toggle"), 400, 1005)


async def test_a_handle_reads_what_was_delivered_to_it(world: World, receiver: Receiver) -> None:
    alice, basic_phone = new_phone(1), new_phone(9)
    chat = await dm(world, alice)
    sms = await dm(world, basic_phone)
    await settle(world)  # both delivered
    await everything(world, receiver)
    for handle, chat_id in ((alice, chat["id"]), (basic_phone, sms["id"])):
        response = await world.http.post(f"{SANDBOX}/{handle}/read", json={"chat_id": chat_id})
        assert response.status_code == 202, response.text
    await settle(world)
    ((kind, data),) = await arrived(receiver, 1)  # none for SMS
    assert kind == "message.read" and data["id"] == chat["message"]["id"] and data["read_at"]
    assert (await world.http.get(f"/v3/messages/{chat['message']['id']}")).json()["delivery_status"] == "read"
    assert (await world.http.get(f"/v3/messages/{sms['message']['id']}")).json()["delivery_status"] == "delivered"
    assert (await world.http.post(f"{SANDBOX}/{alice}/read", json={"chat_id": chat["id"]})).status_code == 202
    await settle(world)
    assert len(hooks(receiver)) == 1  # read once
    assert_envelope(await world.http.post(f"{SANDBOX}/{new_phone(2)}/read", json={"chat_id": chat["id"]}), 409, 2015)
    assert_envelope(await world.http.post(f"{SANDBOX}/{alice}/read", json={"chat_id": "nope"}), 404, 2001)


async def test_a_handles_typing_lapses_after_90_seconds_on_the_clock(world: World, receiver: Receiver) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = await group(world, [alice, bob])
    await settle(world)  # delivered before the receiver listens
    await everything(world, receiver)

    async def typing(handle: str, on: bool = True) -> None:
        response = await world.http.post(f"{SANDBOX}/{handle}/typing", json={"chat_id": chat_id, "typing": on})
        assert response.status_code == 204, response.text

    def seen() -> list[tuple[str, str]]:
        return sorted((kind.rsplit(".", 1)[1], data["actor_handle"]["handle"]) for kind, data in hooks(receiver))

    await typing(alice)
    await typing(bob)
    world.clock.advance(60)
    await typing(alice)  # started again: another 90 s from now
    await typing(bob, on=False)  # stopped by hand: no lapse follows
    world.clock.advance(29)
    await settle(world)
    await receiver.wait_for_async(4)
    assert seen() == [("started", alice), ("started", alice), ("started", bob), ("stopped", bob)]
    world.clock.advance(1)  # 90 s after alice's first start: refreshed since, so still typing
    await settle(world)
    assert len(seen()) == 4
    world.clock.advance(60)  # 90 s after her second start
    await settle(world)
    await receiver.wait_for_async(5)
    assert seen() == [("started", alice), ("started", alice), ("started", bob), ("stopped", alice), ("stopped", bob)]
    world.clock.advance(600)
    await settle(world)
    assert len(seen()) == 5


async def test_a_handle_answers_by_itself_after_its_delay(world: World, receiver: Receiver) -> None:
    alice = new_phone(1)
    rules = [
        {"match": "(?i)lunch", "reply": "Sure, 12:30?", "after_ms": 5_000},
        {"match": ".", "reply": "never: the first matching rule answers", "after_ms": 0},
    ]
    put = await world.http.put(f"{SANDBOX}/{alice}", json={"services": ["iMessage"], "replies": rules})
    assert put.status_code == 200, put.text
    assert put.json()["replies"] == rules
    await everything(world, receiver)
    chat = await dm(world, alice, "Lunch tomorrow?")
    await settle(world)
    assert kinds(await arrived(receiver, 2)) == ["chat.created", "message.delivered"]
    world.clock.advance(4.9)
    await settle(world)
    assert len(hooks(receiver)) == 2
    world.clock.advance(0.2)
    await settle(world)
    (data,) = of(await arrived(receiver, 3), "message.received")  # one answer: the first matching rule's
    assert len(hooks(receiver)) == 3 and data["chat"]["id"] == chat["id"]
    assert data["sender_handle"]["handle"] == alice and data["parts"][0]["value"] == "Sure, 12:30?"
    listed = (await world.http.get(f"/v3/chats/{chat['id']}/messages")).json()["messages"]
    assert [(m["is_from_me"], m["parts"][0]["value"]) for m in listed] == [
        (False, "Sure, 12:30?"),
        (True, "Lunch tomorrow?"),
    ]


async def test_a_handle_with_replies_says_nothing_to_what_no_rule_matches(world: World, receiver: Receiver) -> None:
    alice = new_phone(1)
    rules = [{"match": "^ping$", "reply": "pong", "after_ms": 0}]
    assert (await world.http.put(f"{SANDBOX}/{alice}", json={"services": ["SMS"], "replies": rules})).status_code == 200
    await everything(world, receiver)
    chat = await dm(world, alice, "ping please")
    await world.http.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": text("ping")}})
    world.clock.advance(1)
    await settle(world)
    received = [data["parts"][0]["value"] for data in of(await arrived(receiver, 4), "message.received")]
    assert received == ["pong"]  # over SMS too: only the exact "ping" was answered


async def test_replies_are_checked_before_anything_is_written(world: World) -> None:
    alice = new_phone(1)
    url = f"{SANDBOX}/{alice}"
    cases = [
        [{"match": "(unclosed", "reply": "x", "after_ms": 0}],
        [{"match": "ok", "reply": "", "after_ms": 0}],
        [{"match": "ok", "reply": "x", "after_ms": -1}],
        [{"match": "ok", "reply": "x", "after_ms": True}],
        [{"match": "ok", "reply": "x", "after_ms": 0, "extra": 1}],
        [{"match": "ok", "reply": "x"}] * 21,
        [{"match": "a" * 501, "reply": "x"}],
        ["ok"],
        {"match": "ok"},
    ]
    for replies in cases:
        response = await world.http.put(url, json={"services": ["SMS"], "replies": replies})
        assert_envelope(response, 400, 1005)
    refused = await world.http.put(url, json={"services": ["SMS"], "replies": [{"match": "(", "reply": "x"}]})
    assert "replies[0].match" in refused.json()["error"]["message"]
    shown = (await world.http.get(url)).json()
    assert shown["services"] == ["iMessage", "RCS", "SMS"] and shown["replies"] == []  # untouched


async def test_replies_from_the_handles_file_answer_unless_a_put_says_otherwise(
    fresh_database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    alice, bob = new_phone(1), new_phone(7)
    handles = tmp_path / "handles.yaml"
    handles.write_text(
        f'"{alice}":\n  services: [iMessage]\n  replies: [{{match: "", reply: "auto", after_ms: 0}}]\n'
        f'"{bob}":\n  replies: [{{match: "x", reply: "y"}}]\n'
    )
    settings = Settings(
        database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=0, sandbox_handles=handles
    )
    async with open_world(settings) as world:
        only_replies = (await world.http.get(f"{SANDBOX}/{bob}")).json()
        assert only_replies["services"] == ["RCS", "SMS"]  # an Android phone still: the entry sets no services
        assert only_replies["replies"] == [{"match": "x", "reply": "y", "after_ms": 0}]
        assert (await world.http.get(f"{SANDBOX}/{alice}")).json()["replies"] == [
            {"match": "", "reply": "auto", "after_ms": 0}
        ]
        await everything(world, receiver)
        await dm(world, alice)
        await settle(world)
        assert [data["parts"][0]["value"] for data in of(await arrived(receiver, 2), "message.received")] == ["auto"]
        put = await world.http.put(f"{SANDBOX}/{alice}", json={"services": ["iMessage"], "replies": []})
        assert put.json()["replies"] == []
        await dm(world, alice, "again")
        await settle(world)
        assert len([kind for kind, _ in hooks(receiver) if kind == "message.received"]) == 1


async def test_two_partners_sandboxes_do_not_touch(world: World, receiver: Receiver) -> None:
    alice = new_phone(1)
    chat = await dm(world, alice)
    await settle(world)
    await everything(world, receiver)
    other = await make_partner(world.services.db)
    async with client(world.app, other.api_key) as http:
        url = f"/sandbox/handles/{alice}"
        assert_envelope(await http.post(f"{url}/messages", json={"chat_id": chat["id"], "parts": text("x")}), 404, 2001)
        assert_envelope(
            await http.post(f"{url}/messages", json={"to": world.partner.lines[0], "parts": text("x")}), 403, 2006
        )
        body = {"message_id": chat["message"]["id"], "operation": "add", "type": "love"}
        assert_envelope(await http.post(f"{url}/reactions", json=body), 404, 2002)
        assert_envelope(await http.post(f"{url}/read", json={"chat_id": chat["id"]}), 404, 2001)
        assert_envelope(await http.post(f"{url}/typing", json={"chat_id": chat["id"], "typing": True}), 404, 2001)
        rules = [{"match": "", "reply": "only for the other partner", "after_ms": 0}]
        assert (await http.put(url, json={"services": ["iMessage"], "replies": rules})).status_code == 200
    await world.http.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": text("still there?")}})
    await settle(world)
    assert kinds(await arrived(receiver, 1)) == ["message.delivered"]  # no reply: that rule is the other's
    assert (await world.http.get(f"{SANDBOX}/{alice}")).json()["replies"] == []
