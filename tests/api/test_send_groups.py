"""Concurrent sends are committed together (the send desk): each still gets its own exact answer."""

from __future__ import annotations

import asyncio
from collections import Counter

from linq_server.domain import inbound
from tests.api.test_errors import assert_envelope
from tests.api.test_messages import listed
from tests.conftest import World
from tests.support.messaging import Hooks, new_chat, send, text
from tests.support.phones import new_phone
from tests.support.receiver import Receiver


async def test_fifty_concurrent_sends_into_one_chat_are_numbered_in_acceptance_order_and_sent_once(
    world: World, receiver: Receiver
) -> None:
    world.services.settings.messages_per_minute = 100
    hooks = await Hooks.subscribe(world, receiver)
    chat = await new_chat(world, [new_phone(1)], text("first"))
    responses = await asyncio.gather(*(send(world, chat["id"], text(f"m{i}")) for i in range(50)))
    assert [r.status_code for r in responses] == [202] * 50
    accepted = [r.json()["message"]["id"] for r in responses]
    oldest_first = list(reversed(await listed(world, chat["id"], limit=9)))
    # Every send once, after the chat's first message, in the order the requests came in.
    assert [m["id"] for m in oldest_first] == [chat["message"]["id"], *accepted]
    assert [m["parts"][0]["value"] for m in oldest_first[1:]] == [f"m{i}" for i in range(50)]
    await hooks.settle()
    sent = Counter(event.data.id for event in hooks.events("message.sent"))
    assert all(sent[message_id] == 1 for message_id in accepted) and len(sent) == 51


async def test_a_refused_send_in_a_burst_leaves_the_others_accepted(world: World) -> None:
    world.services.settings.messages_per_minute = 3
    line = world.partner.lines[0]
    opted_out, busy, fine = new_phone(1), new_phone(2), new_phone(3)
    stopped = await new_chat(world, [opted_out])
    await inbound.receive_message(world.services, world.partner.id, line=line, sender=opted_out,
                                  parts=[{"type": "text", "value": "STOP"}])  # fmt: skip
    limited = await new_chat(world, [busy])  # 1 of its 3 per minute
    open_chat = await new_chat(world, [fine])
    burst = [
        send(world, stopped["id"]),
        *(send(world, limited["id"], text(f"l{i}")) for i in range(4)),
        send(world, "00000000-0000-4000-8000-000000000000"),
        send(world, open_chat["id"], text("o1")),
        send(world, open_chat["id"], text("o2")),
    ]
    stop, *to_limited, unknown, o1, o2 = await asyncio.gather(*burst)
    assert_envelope(stop, 403, 2024)
    assert [r.status_code for r in to_limited] == [202, 202, 429, 429]
    assert_envelope(to_limited[2], 429, 1007)
    assert_envelope(unknown, 404, 2001)
    assert o1.status_code == o2.status_code == 202
    assert [m["parts"][0]["value"] for m in await listed(world, open_chat["id"])] == ["o2", "o1", "Hello"]
    assert [m["parts"][0]["value"] for m in await listed(world, limited["id"])] == ["l1", "l0", "Hello"]
    # Only the first message, sent before the STOP came in.
    assert [m["id"] for m in await listed(world, stopped["id"]) if m["is_from_me"]] == [stopped["message"]["id"]]


async def test_one_idempotency_key_in_a_burst_into_two_chats_sends_one_message(world: World) -> None:
    first, second = await new_chat(world, [new_phone(1)]), await new_chat(world, [new_phone(2)])
    message = text("once", idempotency_key="burst-1")
    responses = await asyncio.gather(*(send(world, chat["id"], message) for chat in (first, second) * 5))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["message"]["id"] for r in responses}) == 1
    in_first, in_second = len(await listed(world, first["id"])), len(await listed(world, second["id"]))
    assert sorted([in_first, in_second]) == [1, 2]
