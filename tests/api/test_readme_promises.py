"""README promises checked in-process: sandbox overrides, refused operations, production-mode targets, reuse."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from linq_server.config import Settings
from linq_server.store import webhooks as subscriptions
from linq_server.store.schema import chat_changes, webhook_attempts, webhook_deliveries
from tests.api.test_chats import create, events
from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner, open_world
from tests.support.phones import new_phone
from tests.support.receiver import Receiver


async def sandbox(world: World, handle: str, key: str | None = None, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = f"http://testserver/sandbox/handles/{handle}"
    response = await (world.http.put(url, json=body, headers=headers) if body else world.http.get(url, headers=headers))
    assert response.status_code == 200, response.text
    return response.json()


async def changes_of(world: World, chat_id: str) -> list[Any]:
    async with world.services.db.read() as conn:
        return list((await conn.execute(sa.select(chat_changes).where(chat_changes.c.chat_id == chat_id))).all())


async def test_a_handles_file_overrides_services_for_every_partner(fresh_database_url: str, tmp_path: Path) -> None:
    basic_phone, iphone, yaml_iphone = new_phone(9), new_phone(1), new_phone(2)
    json_file = tmp_path / "handles.json"
    json_file.write_text(json.dumps({basic_phone: ["iMessage", "SMS"], iphone: {"services": ["SMS"]}}))
    yaml_file = tmp_path / "handles.yaml"
    yaml_file.write_text(f'"{yaml_iphone}":\n  services: [RCS]\n')
    for path, handle, services in ((json_file, basic_phone, ["iMessage", "SMS"]), (yaml_file, yaml_iphone, ["RCS"])):
        settings = Settings(
            database_url=fresh_database_url, data_dir=tmp_path / "data", sandbox_handles=path, carrier_delay_ms=0
        )
        async with open_world(settings) as world:
            other = await make_partner(world.services.db)
            for key in (world.partner.api_key, other.api_key):  # the file applies to every partner
                assert (await sandbox(world, handle, key))["services"] == services
            if path == json_file:
                assert (await sandbox(world, iphone))["services"] == ["SMS"]
                chat = (await create(world, [basic_phone, new_phone(1)])).json()["chat"]
                assert chat["service"] == "iMessage"  # a basic phone made iMessage-capable by the file


async def test_a_partners_override_wins_over_the_file_and_stays_with_that_partner(
    fresh_database_url: str, tmp_path: Path
) -> None:
    handle = new_phone(1)
    path = tmp_path / "handles.json"
    path.write_text(json.dumps({handle: ["RCS", "SMS"]}))
    settings = Settings(
        database_url=fresh_database_url, data_dir=tmp_path / "data", sandbox_handles=path, carrier_delay_ms=0
    )
    async with open_world(settings) as world:
        other = await make_partner(world.services.db)
        await sandbox(world, handle, services=["SMS"], failing_operations=["add"])
        device = {"delivery_ms": None, "auto_read_ms": None, "offline": False, "replies": [], "blocked": False}
        assert await sandbox(world, handle) == {
            "handle": handle,
            "services": ["SMS"],
            "failing_operations": ["add"],
            **device,
        }
        theirs = await sandbox(world, handle, other.api_key)
        assert theirs == {"handle": handle, "services": ["RCS", "SMS"], "failing_operations": [], **device}
        # The other partner's chat with that handle is built from the file, not from our override.
        body = {
            "from": other.lines[0],
            "to": [handle, new_phone(7)],
            "message": {"parts": [{"type": "text", "value": "x"}]},
        }
        created = await world.http.post("/v3/chats", json=body, headers={"Authorization": f"Bearer {other.api_key}"})
        assert created.json()["chat"]["service"] == "RCS"


async def test_a_refused_remove_keeps_the_participant(world: World) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    chat_id = (await create(world, [alice, bob, carol])).json()["chat"]["id"]
    await sandbox(world, carol, services=["iMessage"], failing_operations=["remove"])
    assert (
        await world.http.request("DELETE", f"/v3/chats/{chat_id}/participants", json={"handle": carol})
    ).status_code == 202
    await world.worker.run_until_idle()
    chat = (await world.http.get(f"/v3/chats/{chat_id}")).json()
    assert [h["status"] for h in chat["handles"] if h["handle"] == carol] == ["active"]
    assert await events(world, "participant.removed") == []
    (change,) = await changes_of(world, chat_id)
    assert change.status == "failed" and carol in change.error


async def test_a_refused_leave_keeps_the_line_in_the_chat(world: World) -> None:
    line = world.partner.lines[0]
    chat_id = (await create(world, [new_phone(1), new_phone(2), new_phone(3)])).json()["chat"]["id"]
    await sandbox(world, line, services=["iMessage"], failing_operations=["leave"])
    assert (await world.http.post(f"/v3/chats/{chat_id}/leave")).status_code == 202
    await world.worker.run_until_idle()
    chat = (await world.http.get(f"/v3/chats/{chat_id}")).json()
    assert [h["status"] for h in chat["handles"] if h["is_me"]] == ["active"]
    assert await events(world, "participant.removed") == []
    (change,) = await changes_of(world, chat_id)
    assert change.status == "failed" and line in change.error
    # The leave failed, so the chat is open to changes again.
    assert (await world.http.put(f"/v3/chats/{chat_id}", json={"display_name": "Still here"})).status_code == 202


async def test_a_refused_icon_change_emits_group_icon_update_failed(world: World) -> None:
    line = world.partner.lines[0]
    chat_id = (await create(world, [new_phone(1), new_phone(2)])).json()["chat"]["id"]
    await sandbox(world, line, services=["iMessage"], failing_operations=["set_icon"])
    icon = "https://example.com/icon.png"
    assert (await world.http.put(f"/v3/chats/{chat_id}", json={"group_chat_icon": icon})).status_code == 202
    await world.worker.run_until_idle()
    assert (await world.http.get(f"/v3/chats/{chat_id}")).json()["group_chat_icon"] is None
    (failed,) = await events(world, "chat.group_icon_update_failed")
    assert failed["chat_id"] == chat_id and failed["error_code"] == 4001 and failed["failed_at"]
    assert await events(world, "chat.group_icon_updated") == []


async def test_a_chat_the_line_left_is_never_reused(world: World) -> None:
    recipients = [new_phone(1), new_phone(2), new_phone(3)]
    chat_id = (await create(world, recipients)).json()["chat"]["id"]
    assert (await world.http.post(f"/v3/chats/{chat_id}/leave")).status_code == 202
    await world.worker.run_until_idle()
    again = await create(world, recipients)
    assert again.status_code == 201 and again.json()["chat"]["id"] != chat_id


async def test_a_host_name_that_resolves_to_a_private_address_is_refused_in_production_mode(
    fresh_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", sandbox=False, carrier_delay_ms=0)
    async with open_world(settings) as world:
        body = {"target_url": "http://localhost:9/hook", "subscribed_events": ["message.sent"]}
        assert_envelope(await world.http.post("/v3/webhook-subscriptions", json=body), 400, 1005)
        public = {**body, "target_url": "http://93.184.215.14/hook"}
        assert (await world.http.post("/v3/webhook-subscriptions", json=public)).status_code == 201


@pytest.mark.parametrize("internal", ["127.0.0.1", "localhost"])
async def test_production_mode_refuses_an_internal_target_at_delivery_time(
    fresh_database_url: str, tmp_path: Path, receiver: Receiver, internal: str
) -> None:
    event = "webhook_subscription.events.updated"
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", sandbox=False, carrier_delay_ms=0)
    async with open_world(settings) as world:
        created = await world.subscribe("http://93.184.215.14/hook", [event])
        # Where the target points changed after the subscription was checked (DNS answers change): the
        # stored row now names the local receiver, which production mode must never reach.
        async with world.services.db.write() as conn:
            stored = await subscriptions.subscription_of(world.services.db, conn, world.partner.id, str(created["id"]))
            assert stored is not None
            target = receiver.url.replace("127.0.0.1", internal)
            await subscriptions.update_subscription(conn, replace(stored, target_url=target))
        changed = await world.http.put(
            f"/v3/webhook-subscriptions/{created['id']}", json={"subscribed_events": [event, "message.sent"]}
        )
        assert changed.status_code == 200, changed.text
        for _ in range(40):
            await world.worker.run_until_idle()
            world.clock.advance(60)
        assert receiver.received == []
        async with world.services.db.read() as conn:
            query = sa.select(webhook_attempts).join(
                webhook_deliveries, webhook_deliveries.c.id == webhook_attempts.c.delivery_id
            )
            attempts = list((await conn.execute(query)).mappings())
        assert attempts and all(a["status_code"] is None and a["error"] for a in attempts)
