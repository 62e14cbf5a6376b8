"""The network's far side runs on the injected clock: a group change takes effect when the clock says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from linq_server.clock import isoformat
from linq_server.config import Settings
from linq_server.domain import chats
from linq_server.shapes import chat_events
from linq_server.store.schema import chat_changes
from tests.api.test_chats import create, events
from tests.conftest import World, open_world
from tests.support.phones import new_phone

DELAY_MS = 5000


@pytest.fixture
async def slow_world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=DELAY_MS)
    async with open_world(settings) as made:
        yield made


async def members(world: World, chat_id: str) -> list[str]:
    return [h["handle"] for h in (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"]]


async def test_an_add_takes_effect_only_when_the_clock_passes_the_carrier_delay(slow_world: World) -> None:
    world, carol = slow_world, new_phone(3)
    chat_id = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    assert (await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": carol})).status_code == 202

    await world.worker.run_until_idle()
    world.clock.advance(DELAY_MS / 1000 - 0.01)
    await world.worker.run_until_idle()
    assert carol not in await members(world, chat_id)
    assert await events(world, "participant.added") == []

    world.clock.advance(0.02)
    await world.worker.run_until_idle()
    assert carol in await members(world, chat_id)
    (added,) = await events(world, "participant.added")
    assert added["added_at"] == isoformat(world.clock.now())
    view = await chats.get_chat(world.services, world.partner.id, chat_id)
    joined = view.participant(carol)
    assert joined is not None
    assert added == chat_events.participant_added(view.chat, joined, "any trace").data


async def change_status(world: World, chat_id: str) -> str:
    async with world.services.db.read() as conn:
        (change,) = (await conn.execute(sa.select(chat_changes).where(chat_changes.c.chat_id == chat_id))).all()
    return str(change.status)


async def test_a_refusal_is_recorded_only_when_the_change_falls_due(slow_world: World) -> None:
    world, carol = slow_world, new_phone(3)
    fault = {"services": ["iMessage"], "failing_operations": ["add"]}
    await world.http.put(f"http://testserver/sandbox/handles/{carol}", json=fault)
    chat_id = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    assert (await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": carol})).status_code == 202

    world.clock.advance(DELAY_MS / 1000 - 0.01)
    await world.worker.run_until_idle()
    assert await change_status(world, chat_id) == "queued"

    world.clock.advance(0.02)
    await world.worker.run_until_idle()
    assert await change_status(world, chat_id) == "failed"
    assert carol not in await members(world, chat_id)
    assert await events(world, "participant.added") == []
