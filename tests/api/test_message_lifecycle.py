"""The outbound lifecycle through the simulated network, driven by a manual clock (no sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from linq.types import Message
from linq.types.chats import MessageSendResponse

from linq_server.config import Settings
from linq_server.domain import inbound
from linq_server.domain.message_sending import SEND_JOB
from tests.conftest import World, open_world
from tests.support.messaging import Hooks, new_chat, send
from tests.support.phones import new_phone
from tests.support.receiver import Receiver


@pytest.fixture
async def world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """Devices take 20 ms to receive a message, on the manual clock."""
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=20)
    async with open_world(settings) as made:
        yield made


async def device(world: World, handle: str, services: list[str] | None = None, **behaviour: object) -> None:
    """Set a handle's device through the sandbox API."""
    body = {"services": services or ["iMessage", "RCS", "SMS"], **behaviour}
    response = await world.http.put(f"http://testserver/sandbox/handles/{handle}", json=body)
    assert response.status_code == 200, response.text


async def status(world: World, message_id: str) -> Message:
    response = await world.http.get(f"/v3/messages/{message_id}")
    assert response.status_code == 200, response.text
    return Message.model_validate(response.json())


async def test_sent_delivered_then_read_when_the_recipient_reads(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone = new_phone(1)
    chat = await new_chat(world, [iphone])
    response = await send(world, chat["id"])
    assert response.status_code == 202
    sent = MessageSendResponse.model_validate(response.json())
    assert sent.chat_id == chat["id"] and sent.message.delivery_status == "queued" and sent.message.sent_at is None
    trace_id = response.headers["x-trace-id"]
    # The network took it with the 202: sent before any job has run.
    assert (await status(world, sent.message.id)).delivery_status == "sent"

    await hooks.settle()
    await hooks.settle(advance=0.05)  # the device's latency (default 20 ms)
    delivered = await status(world, sent.message.id)
    assert delivered.delivery_status == "delivered" and delivered.is_delivered and not delivered.is_read
    await hooks.settle(advance=240)  # no auto_read_ms: the recipient has not read it (signatures allow 5 min of skew)
    assert (await status(world, sent.message.id)).delivery_status == "delivered"
    await receiver.wait_for_async(5)  # chat.created + 2 for the first message + 2 for this one

    assert await inbound.read_by(world.services, world.partner.id, chat["id"], iphone) == 2
    await hooks.settle()
    read = await status(world, sent.message.id)
    assert read.delivery_status == "read" and read.is_read and read.read_at is not None
    await receiver.wait_for_async(7)
    assert hooks.types(sent.message.id) == ["message.sent", "message.delivered", "message.read"]
    events = hooks.events(message_id=sent.message.id)
    assert all(event.trace_id == trace_id for event in events)
    sent_event, delivered_event, read_event = (event.data for event in events)
    assert sent_event.sent_at and not sent_event.delivered_at and not sent_event.read_at
    assert delivered_event.delivered_at and not delivered_event.read_at
    assert read_event.read_at and read_event.direction == "outbound" and read_event.sender_handle.is_me


async def test_auto_read_after_its_delay(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone = new_phone(2)
    await device(world, iphone, delivery_ms=500, auto_read_ms=2000)
    chat = await new_chat(world, [iphone])
    message_id = chat["message"]["id"]
    await hooks.settle()
    await hooks.settle(advance=0.4)
    assert (await status(world, message_id)).delivery_status == "sent"
    await hooks.settle(advance=0.2)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await hooks.settle(advance=1.9)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await hooks.settle(advance=0.2)
    assert (await status(world, message_id)).delivery_status == "read"


async def test_an_offline_device_gets_the_message_when_it_is_back(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone = new_phone(3)
    await device(world, iphone, offline=True)
    chat = await new_chat(world, [iphone])
    message_id = chat["message"]["id"]
    await hooks.settle()
    await hooks.settle(advance=240)
    assert (await status(world, message_id)).delivery_status == "sent"
    await device(world, iphone, offline=False, delivery_ms=100)
    await hooks.settle(advance=0.1)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await receiver.wait_for_async(3)
    assert hooks.types(message_id) == ["message.sent", "message.delivered"]


async def test_a_failing_device_fails_the_message_with_4001(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone = new_phone(4)
    await device(world, iphone, failing_operations=["deliver"])
    chat = await new_chat(world, [iphone])
    message_id = chat["message"]["id"]
    await hooks.settle()
    await hooks.settle(advance=0.05)
    failed = await status(world, message_id)
    assert failed.delivery_status == "failed"
    await receiver.wait_for_async(3)
    (event,) = hooks.events("message.failed")
    assert event.data.code == 4001 and event.data.message_id == message_id and event.data.chat_id == chat["id"]


async def test_sms_has_no_read_receipt(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    basic_phone = new_phone(9)
    await device(world, basic_phone, ["SMS"], auto_read_ms=0)
    chat = await new_chat(world, [basic_phone])
    assert chat["service"] == "SMS"
    message_id = chat["message"]["id"]
    await hooks.settle()
    await hooks.settle(advance=0.05)
    await hooks.settle(advance=0.05)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await receiver.wait_for_async(3)
    assert hooks.types(message_id) == ["message.sent", "message.delivered"]


async def test_a_group_message_is_delivered_once_and_has_no_read_receipt(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    members = [new_phone(1), new_phone(2), new_phone(3)]
    for i, member in enumerate(members):
        await device(world, member, delivery_ms=100 * (i + 1), auto_read_ms=0)
    chat = await new_chat(world, members)
    message_id = chat["message"]["id"]
    await hooks.settle()
    for _ in members:
        await hooks.settle(advance=0.1)
    await hooks.settle(advance=10)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await receiver.wait_for_async(3)
    assert hooks.types(message_id) == ["message.sent", "message.delivered"]


async def test_a_message_an_earlier_version_left_to_its_send_job_is_still_sent(
    world: World, receiver: Receiver
) -> None:
    """Before the network took messages in the accepting transaction, a ``message.send`` job did: an upgrade
    with such jobs still queued must send their messages."""
    chat = await new_chat(world, [new_phone(5)])
    message_id = chat["message"]["id"]
    async with world.services.db.write() as conn:  # the state an earlier version left behind
        await conn.execute(sa.text("DELETE FROM jobs WHERE kind = 'message.device'"))
        await conn.execute(
            sa.text("UPDATE messages SET delivery_status = 'queued', sent_at = NULL WHERE id = :id"), {"id": message_id}
        )
        await world.services.queue.enqueue_many(conn, SEND_JOB, [{"message_id": message_id}])
    hooks = await Hooks.subscribe(world, receiver)
    await hooks.settle()
    assert (await status(world, message_id)).delivery_status == "sent"
    await hooks.settle(advance=0.05)
    assert (await status(world, message_id)).delivery_status == "delivered"
    await receiver.wait_for_async(2)
    assert hooks.types(message_id) == ["message.sent", "message.delivered"]
