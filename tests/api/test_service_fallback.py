"""A direct iMessage the recipient's device cannot take falls back to RCS or SMS (api-core §13.6); asked
for iMessage, it fails with 4005. On the manual clock, with a real receiver and the SDK's models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from linq.types import Message

from linq_server.config import Settings
from linq_server.domain import inbound
from tests.api.test_message_lifecycle import device, status
from tests.conftest import World, open_world
from tests.support.messaging import Hooks, new_chat, send, text
from tests.support.phones import new_phone
from tests.support.receiver import Receiver


@pytest.fixture
async def world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=20)
    async with open_world(settings) as made:
        yield made


async def test_an_imessage_falls_back_to_rcs_then_sms_and_says_so(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone = new_phone(1)
    chat = await new_chat(world, [iphone])
    assert chat["service"] == "iMessage"
    await hooks.settle(advance=0.05)
    await device(world, iphone, ["RCS", "SMS"])  # iMessage switched off on their phone
    to_rcs = (await send(world, chat["id"])).json()["message"]
    assert to_rcs["service"] == "iMessage" and to_rcs["preferred_service"] is None  # decided on delivery
    await hooks.settle()
    await hooks.settle(advance=0.05)
    moved = await status(world, to_rcs["id"])
    assert moved.service == "RCS" and moved.delivery_status == "delivered" and moved.preferred_service is None

    await device(world, iphone, ["SMS"])
    to_sms = (await send(world, chat["id"])).json()["message"]
    await hooks.settle()
    await hooks.settle(advance=0.05)
    assert (await status(world, to_sms["id"])).service == "SMS"
    await inbound.read_by(world.services, world.partner.id, chat["id"], iphone)
    await hooks.settle()
    assert (await status(world, to_sms["id"])).delivery_status == "delivered"  # SMS has no read receipts
    assert (await status(world, to_rcs["id"])).delivery_status == "read"
    assert (await world.http.get(f"/v3/chats/{chat['id']}")).json()["service"] == "iMessage"  # the chat's own

    await receiver.wait_for_async(9)
    sent, delivered = hooks.events("message.sent", to_sms["id"]), hooks.events("message.delivered", to_sms["id"])
    assert [e.data.service for e in sent] == ["iMessage"] and [e.data.service for e in delivered] == ["SMS"]
    assert [e.data.service for e in hooks.events("message.delivered", to_rcs["id"])] == ["RCS"]
    assert not hooks.events("message.failed")


async def test_asked_for_imessage_or_in_a_group_it_fails_instead(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    iphone, other = new_phone(1), new_phone(2)
    chat = await new_chat(world, [iphone])
    group = await new_chat(world, [iphone, other])
    await hooks.settle(advance=0.05)
    await device(world, iphone, ["SMS"])
    insisted = (await send(world, chat["id"], text(preferred_service="iMessage"))).json()["message"]
    in_group = (await send(world, group["id"])).json()["message"]
    await hooks.settle()
    await hooks.settle(advance=0.05)
    failed = Message.model_validate((await world.http.get(f"/v3/messages/{insisted['id']}")).json())
    assert failed.delivery_status == "failed" and failed.service == "iMessage"
    await receiver.wait_for_async(8)
    (event,) = hooks.events("message.failed", insisted["id"])
    assert event.data.code == 4005 and event.data.preferred_service == "iMessage"
    assert (await status(world, in_group["id"])).service == "iMessage"  # the other member had it: delivered
