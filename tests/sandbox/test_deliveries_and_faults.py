"""The delivery log, resend, and fault injection, in-process with a real receiver and worker."""

from __future__ import annotations

from typing import Any

import standardwebhooks

from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.sandbox.test_accounts_and_clock import client
from tests.support.phones import new_phone
from tests.support.receiver import Receiver

SANDBOX = "http://testserver/sandbox"
TEXT = {"parts": [{"type": "text", "value": "hi"}]}


async def deliveries(world: World, **params: Any) -> dict[str, Any]:
    response = await world.http.get(f"{SANDBOX}/deliveries", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_chat(world: World, to: list[str]) -> Any:
    return await world.http.post("/v3/chats", json={"from": world.partner.lines[0], "to": to, "message": TEXT})


async def test_every_attempt_is_logged_with_the_headers_that_were_signed(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, ["chat.created"])
    receiver.answer(500)
    chat = (await create_chat(world, [new_phone(1)])).json()["chat"]
    await world.worker.run_until_idle()
    world.clock.advance(7)
    await world.worker.run_until_idle()
    hits = await receiver.wait_for_async(2)

    (logged,) = (await deliveries(world, event_type="chat.created"))["deliveries"]
    assert logged["status"] == "delivered" and logged["attempt_count"] == 2
    assert logged["subscription_id"] == created["id"] and logged["target_url"] == receiver.url
    assert logged["payload"]["data"]["id"] == chat["id"]
    first, second = logged["attempts"]
    assert (first["status_code"], second["status_code"]) == (500, 200)
    assert second["response_excerpt"] == "ok" and second["duration_ms"] >= 0
    for attempt, hit in zip(logged["attempts"], hits, strict=True):
        assert attempt["request_headers"]["webhook-signature"] == hit.headers["webhook-signature"]
        signed = standardwebhooks.Webhook(str(created["signing_secret"]))
        assert signed.verify(hit.body, attempt["request_headers"])["event_type"] == "chat.created"
    assert logged["webhook_id"] == hits[0].headers["webhook-id"]


async def test_filters_and_cursor_pages(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, ["chat.created", "webhook_subscription.created"])
    for _ in range(3):
        await create_chat(world, [new_phone(1)])
    await world.worker.run_until_idle()
    await receiver.wait_for_async(4)  # three chats, and the subscription's own creation
    page = await deliveries(world, event_type="chat.created", limit=2)
    assert len(page["deliveries"]) == 2 and page["next_cursor"]
    rest = await deliveries(world, event_type="chat.created", limit=2, cursor=page["next_cursor"])
    assert len(rest["deliveries"]) == 1 and rest["next_cursor"] is None
    ids = [d["id"] for d in page["deliveries"] + rest["deliveries"]]
    assert len(set(ids)) == 3
    assert (await deliveries(world, status="failed"))["deliveries"] == []
    assert len((await deliveries(world, subscription_id=created["id"], status="delivered"))["deliveries"]) == 4
    assert_envelope(await world.http.get(f"{SANDBOX}/deliveries", params={"status": "lost"}), 400, 1005)
    assert_envelope(await world.http.get(f"{SANDBOX}/deliveries", params={"cursor": "forged"}), 400, 1005)


async def test_resend_sends_the_same_webhook_again_and_only_to_its_owner(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url, ["chat.created"])
    await create_chat(world, [new_phone(1)])
    await world.worker.run_until_idle()
    (first,) = await receiver.wait_for_async(1)
    (logged,) = (await deliveries(world))["deliveries"]

    other = await make_partner(world.services.db)
    async with client(world.app, other.api_key) as http:
        assert (await http.get("/sandbox/deliveries")).json()["deliveries"] == []
        assert_envelope(await http.post(f"/sandbox/deliveries/{logged['id']}/resend"), 404, 2001)

    again = await world.http.post(f"{SANDBOX}/deliveries/{logged['id']}/resend")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await world.worker.run_until_idle()
    _, second = await receiver.wait_for_async(2)
    assert second.body == first.body and second.headers["webhook-id"] == first.headers["webhook-id"]
    assert len((await deliveries(world))["deliveries"]) == 2
    assert_envelope(await world.http.post(f"{SANDBOX}/deliveries/not-an-id/resend"), 404, 2001)


async def test_fault_rules_fail_the_partners_calls_until_used_up(world: World) -> None:
    rules = [
        {"method": "POST", "path": "/v3/chats", "status": 429, "times": 2},
        {"method": "GET", "path": "/v3/chats/{chatId}", "status": 500, "probability": 0},
    ]
    put = await world.http.put(f"{SANDBOX}/faults", json={"rules": rules, "webhooks": {"duplicate": 0.5}})
    assert put.status_code == 200
    assert put.json()["rules"][0] | {"remaining": 2} == put.json()["rules"][0]
    assert put.json()["rules"][0]["code"] == 1007 and put.json()["webhooks"]["duplicate"] == 0.5

    for _ in range(2):
        limited = await create_chat(world, [new_phone(1)])
        assert_envelope(limited, 429, 1007, "Rate limit exceeded")
        assert limited.headers["retry-after"] == "1" and limited.json()["error"]["retry_after"] == 1
    created = await create_chat(world, [new_phone(1)])
    assert created.status_code == 201
    assert (await world.http.get(f"/v3/chats/{created.json()['chat']['id']}")).status_code == 200
    assert (await world.http.get(f"{SANDBOX}/faults")).json()["rules"][0]["remaining"] == 0

    # Another partner is not affected, and the sandbox routes themselves never fail.
    other = await make_partner(world.services.db)
    await world.http.put(f"{SANDBOX}/faults", json={"rules": [{"path": "/v3/{anything}", "status": 503}]})
    async with client(world.app, other.api_key) as http:
        assert (await http.get("/api/partner/v3/phone_numbers")).status_code == 200
    assert_envelope(await world.http.get("/v3/phone_numbers"), 503, 4004)
    assert (await world.http.delete(f"{SANDBOX}/faults")).status_code == 204
    assert (await world.http.get("/v3/phone_numbers")).status_code == 200
    assert (await world.http.get(f"{SANDBOX}/faults")).json() == {
        "rules": [], "webhooks": {"duplicate": 0.0, "delay_ms": 0, "shuffle": False}
    }  # fmt: skip


async def test_bad_fault_bodies_are_400s(world: World) -> None:
    for body in (
        {"rules": [{"path": "/v3/chats"}]},
        {"rules": [{"path": "/v3/chats", "status": "often"}]},
        {"rules": [{"status": 500}]},
        {"webhooks": {"delay_ms": -1}},
        {"rules": "all"},
    ):
        response = await world.http.put(f"{SANDBOX}/faults", json=body)
        assert response.status_code == 400, body


async def test_webhook_faults_duplicate_and_delay_on_the_servers_clock(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url, ["chat.created"])
    await world.http.put(f"{SANDBOX}/faults", json={"webhooks": {"duplicate": 1, "delay_ms": 60_000}})
    await create_chat(world, [new_phone(1)])
    await world.worker.run_until_idle()
    assert receiver.received == []  # held back a minute on the manual clock
    world.clock.advance(60)
    await world.worker.run_until_idle()
    first, second = await receiver.wait_for_async(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
