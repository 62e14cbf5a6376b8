"""The send gates of api-core §7.4 and §18 (flagged line 2027, blocked handle 2026, sandbox recipient 2008),
the failover branch of POST /v3/messages, and chat health OPTED_OUT: on the manual clock, with a real receiver."""

from __future__ import annotations

from typing import Any

from linq.types import Chat, MessageCreateResponse

from linq_server.domain import inbound
from tests.api.test_errors import assert_envelope
from tests.conftest import World
from tests.support.messaging import Hooks, new_chat, send, text
from tests.support.phones import new_phone
from tests.support.receiver import Receiver

SANDBOX = "http://testserver/sandbox"


async def flag(world: World, line: str, status: str = "FLAGGED") -> None:
    response = await world.http.put(f"{SANDBOX}/lines/{line}", json={"status": status})
    assert response.status_code == 200 and response.json()["status"] == status, response.text


async def block(world: World, handle: str, blocked: bool = True) -> None:
    body = {"services": ["iMessage", "RCS", "SMS"], "blocked": blocked}
    response = await world.http.put(f"{SANDBOX}/handles/{handle}", json=body)
    assert response.status_code == 200 and response.json()["blocked"] is blocked, response.text


async def chat_count(world: World) -> int:
    return len((await world.http.get("/v3/chats", params={"limit": 100})).json()["chats"])


async def say(world: World, handle: str, words: str, line: str | None = None) -> Any:
    return await inbound.receive_message(world.services, world.partner.id, line=line or world.partner.lines[0],
                                         sender=handle, parts=[{"type": "text", "value": words}])  # fmt: skip


async def test_a_flagged_line_refuses_new_activity_and_keeps_reads(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, ["phone_number.status_updated"])
    hooks = Hooks(world, receiver, str(created["signing_secret"]))
    line = world.partner.lines[0]
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    dm = await new_chat(world, [alice])
    group = await new_chat(world, [bob, carol])
    before = await chat_count(world)
    await flag(world, line)

    assert_envelope(await send(world, dm["id"]), 403, 2027, "Phone number is not eligible to send")
    fresh = {"from": line, "to": [new_phone(4)], "message": text()}
    assert_envelope(await world.http.post("/v3/chats", json=fresh), 403, 2027)
    assert_envelope(await world.http.post("/v3/chats", json={**fresh, "to": [alice]}), 403, 2027)
    reaction = {"operation": "add", "type": "love", "part_index": 0}
    assert_envelope(await world.http.post(f"/v3/messages/{dm['message']['id']}/reactions", json=reaction), 403, 2027)
    assert_envelope(await world.http.post(f"/v3/chats/{dm['id']}/typing"), 403, 2027)
    assert_envelope(await world.http.put(f"/v3/chats/{group['id']}", json={"display_name": "x"}), 403, 2027)
    adding = await world.http.post(f"/v3/chats/{group['id']}/participants", json={"handle": new_phone(5)})
    assert_envelope(adding, 403, 2027)
    assert await chat_count(world) == before  # rejected before anything was created
    assert (await world.http.get(f"/v3/chats/{dm['id']}")).status_code == 200
    assert len((await world.http.get(f"/v3/chats/{dm['id']}/messages")).json()["messages"]) == 1

    await flag(world, line, "ACTIVE")
    assert (await send(world, dm["id"])).status_code == 202
    await hooks.settle()
    await receiver.wait_for_async(2)
    changes = sorted((e.data.previous_status, e.data.new_status, e.data.phone_number) for e in hooks.events())
    assert changes == [("ACTIVE", "FLAGGED", line), ("FLAGGED", "ACTIVE", line)]  # delivered in any order
    assert {e.event_type for e in hooks.events()} == {"phone_number.status_updated"}


async def test_blocked_handles_refuse_direct_sends_and_their_messages_are_dropped(
    world: World, receiver: Receiver
) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    await world.subscribe(f"{receiver.url}/typing", ["chat.typing_indicator.started"])
    blocked, other = new_phone(1), new_phone(2)
    dm = await new_chat(world, [blocked])
    group = await new_chat(world, [blocked, other])
    await block(world, blocked)

    assert_envelope(await send(world, dm["id"]), 403, 2026, "Recipient is blocked")
    assert_envelope(await send(world, dm["id"], override_optout=True), 403, 2026)
    new_dm = {"from": world.partner.lines[1], "to": [blocked], "message": text()}
    assert_envelope(await world.http.post("/v3/chats", json=new_dm), 403, 2026)
    assert_envelope(await world.http.post("/v3/messages", json={"to": [blocked], "message": text()}), 403, 2026)
    assert (await send(world, group["id"])).status_code == 202  # a group with an unblocked member passes
    await block(world, other)
    assert_envelope(await send(world, group["id"]), 403, 2026)  # every member blocked

    await hooks.settle()
    seen = len(receiver.received)
    assert await say(world, blocked, "hello?") is None
    assert await say(world, blocked, "hi", line=world.partner.lines[1]) is None
    through_the_api = await world.http.post(
        f"{SANDBOX}/handles/{blocked}/messages", json={"chat_id": dm["id"], "parts": text()["parts"]}
    )
    assert_envelope(through_the_api, 403, 2026)  # the control API says the message was dropped
    typing = await world.http.post(f"{SANDBOX}/handles/{blocked}/typing", json={"chat_id": dm["id"], "typing": True})
    assert typing.status_code == 204, typing.text
    await hooks.settle()
    assert len(receiver.received) == seen and not hooks.events("message.received")
    assert len((await world.http.get(f"/v3/chats/{dm['id']}/messages")).json()["messages"]) == 1

    await block(world, blocked, False)
    await block(world, other, False)
    assert (await send(world, dm["id"])).status_code == 202
    assert (await say(world, blocked, "back")) is not None
    await world.http.post(f"{SANDBOX}/handles/{blocked}/typing", json={"chat_id": dm["id"], "typing": True})
    await hooks.settle()
    await receiver.wait_for_async(seen + 4)  # message.sent, message.received and typing now arrive


async def test_a_sandbox_account_sends_only_to_handles_that_wrote_first(world: World) -> None:
    rule = await world.http.put(f"{SANDBOX}/account", json={"recipients_must_message_first": True})
    assert rule.status_code == 200 and rule.json() == {"recipients_must_message_first": True}
    stranger, friend = new_phone(1), new_phone(2)
    line = world.partner.lines[0]
    first = {"from": line, "to": [stranger], "message": text()}
    assert_envelope(await world.http.post("/v3/chats", json=first), 403, 2008)
    assert_envelope(await world.http.post("/v3/messages", json={"to": [stranger], "message": text()}), 403, 2008)
    assert await chat_count(world) == 0

    wrote = await say(world, friend, "hi there", line=world.partner.lines[1])
    assert (await world.http.post("/v3/chats", json={**first, "to": [friend]})).status_code == 201  # any line
    assert (await send(world, wrote.chat_id)).status_code == 202
    group = {"from": line, "to": [friend, stranger], "message": text()}
    assert_envelope(await world.http.post("/v3/chats", json=group), 403, 2008)  # every recipient must have written

    await flag(world, line)
    await block(world, stranger)
    assert (await world.http.post(f"{SANDBOX}/reset")).status_code == 204
    assert (await world.http.get(f"{SANDBOX}/account")).json() == {"recipients_must_message_first": False}
    assert (await world.http.get(f"{SANDBOX}/lines/{line}")).json()["status"] == "ACTIVE"
    assert (await world.http.get(f"{SANDBOX}/handles/{stranger}")).json()["blocked"] is False
    assert (await world.http.post("/v3/chats", json=first)).status_code == 201


async def test_auto_from_fails_over_from_a_flagged_line_with_the_continuation(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    first_line, second_line = world.partner.lines
    alice = new_phone(1)
    original = MessageCreateResponse.model_validate(
        (await world.http.post("/v3/messages", json={"to": [alice], "message": text("first")})).json()
    )
    assert original.from_ == first_line
    await flag(world, first_line)
    world.clock.advance(1)

    body = {"to": [alice], "message": text("the original"), "continuation_message": {"text": "New number, same us"}}
    response = await world.http.post("/v3/messages", json=body, headers={"Idempotency-Key": "failover-1"})
    assert response.status_code == 202, response.text
    moved = MessageCreateResponse.model_validate(response.json())
    assert moved.from_selection.reason == "failover_flagged" and not moved.from_selection.reused_existing_chat
    assert moved.created_new_chat and moved.previous_chat_id == original.chat_id
    assert moved.from_ == second_line and moved.chat_id != original.chat_id
    assert [part.value for part in moved.message.parts] == ["New number, same us"]  # type: ignore[union-attr]
    repeated = await world.http.post("/v3/messages", json=body, headers={"Idempotency-Key": "failover-1"})
    assert repeated.status_code == 202 and repeated.json() == response.json()  # the same answer, failover included

    again = MessageCreateResponse.model_validate(
        (await world.http.post("/v3/messages", json={**body, "message": text("next")})).json()
    )
    assert again.from_selection.reason == "reused_active_chat" and again.chat_id == moved.chat_id
    assert again.previous_chat_id is None and [p.value for p in again.message.parts] == ["next"]  # type: ignore[union-attr]

    await hooks.settle()
    await receiver.wait_for_async(7)  # 2 chat.created, 3 message.sent, and the lifecycle goes on
    created = {e.data.id: e.data for e in hooks.events("chat.created")}  # deliveries may arrive in any order
    assert set(created) == {original.chat_id, moved.chat_id}
    assert created[moved.chat_id].handles[0].handle == second_line
    continuation = hooks.events("message.sent", message_id=moved.message.id)
    assert len(continuation) == 1 and continuation[0].data.chat.id == moved.chat_id

    plain = await world.http.post("/v3/messages", json={"to": [alice], "message": text("no continuation")})
    assert plain.json()["from_selection"]["reason"] == "reused_active_chat"
    await flag(world, second_line)
    assert_envelope(await world.http.post("/v3/messages", json={"to": [alice], "message": text()}), 409, 2015)
    await flag(world, first_line, "ACTIVE")  # the first chat can send again: reused, the flagged one skipped
    back = MessageCreateResponse.model_validate(
        (await world.http.post("/v3/messages", json={"to": [alice], "message": text("m")})).json()
    )
    assert back.from_selection.reason == "reused_active_chat" and back.chat_id == original.chat_id


async def test_a_flagged_line_is_skipped_for_new_chats_and_exclusions_still_count(world: World) -> None:
    first_line, second_line = world.partner.lines
    bob = new_phone(4)
    assert (await world.http.post("/v3/messages", json={"to": [bob], "message": text()})).json()["from"] == first_line
    await flag(world, first_line)
    moved = MessageCreateResponse.model_validate(
        (await world.http.post("/v3/messages", json={"to": [bob], "message": text("as asked")})).json()
    )
    assert moved.from_selection.reason == "failover_flagged" and moved.from_ == second_line
    assert [p.value for p in moved.message.parts] == ["as asked"]  # type: ignore[union-attr]  # no continuation
    fresh = MessageCreateResponse.model_validate(
        (await world.http.post("/v3/messages", json={"to": [new_phone(1)], "message": text()})).json()
    )
    assert fresh.from_ == second_line and fresh.from_selection.reason == "new_best_number"
    excluded = {"to": [new_phone(2)], "message": text(), "exclude_from": [second_line]}
    assert_envelope(await world.http.post("/v3/messages", json=excluded), 400, 1005)
    bad = {"to": [new_phone(3)], "message": text(), "continuation_message": {"text": "x", "parts": []}}
    assert_envelope(await world.http.post("/v3/messages", json=bad), 400, 1005)


async def test_a_dm_reads_opted_out_where_the_keyword_arrived(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    handle = new_phone(1)
    dm = await new_chat(world, [handle])
    group = await new_chat(world, [handle, new_phone(2)])
    assert dm["health_status"]["status"] == "HEALTHY"
    stop = await say(world, handle, "STOP")
    assert stop.chat_id == dm["id"]

    chat = Chat.model_validate((await world.http.get(f"/v3/chats/{dm['id']}")).json())
    assert chat.health_status is not None and chat.health_status.status == "OPTED_OUT"
    listed = {c["id"]: c["health_status"]["status"] for c in (await world.http.get("/v3/chats")).json()["chats"]}
    assert listed == {dm["id"]: "OPTED_OUT", group["id"]: "HEALTHY"}
    await hooks.settle()
    await receiver.wait_for_async(5)  # 2 chat.created, 2 message.sent, 1 message.received (and deliveries)
    (received,) = hooks.events("message.received")
    assert received.data.chat.health_status.status == "OPTED_OUT"

    await say(world, handle, "sorry, keep going")
    chat = Chat.model_validate((await world.http.get(f"/v3/chats/{dm['id']}")).json())
    assert chat.health_status is not None and chat.health_status.status == "HEALTHY"
