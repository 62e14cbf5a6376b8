"""Signed delivery to a real local receiver: signatures, retries, final failures, Retry-After."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import standardwebhooks
from linq import LinqAPIV3

from linq_server.store import webhooks as store
from tests.conftest import World
from tests.support.receiver import Answer, Receiver

EVENT = "webhook_subscription.events.updated"


async def change_events(world: World, subscription_id: object, events: list[str]) -> None:
    response = await world.http.put(f"/v3/webhook-subscriptions/{subscription_id}", json={"subscribed_events": events})
    assert response.status_code == 200, response.text


async def attempts(world: World, event_id: str) -> list[dict[str, object]]:
    async with world.services.db.read() as conn:
        (delivery,) = await store.deliveries_of_event(conn, event_id)
        return await store.attempts_of(conn, str(delivery["id"]))


async def test_delivery_is_signed_for_standard_webhooks_the_sdk_and_the_legacy_header(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, ["webhook_subscription.created", EVENT])
    secret = str(created["signing_secret"])
    await world.worker.run_until_idle()
    (hit,) = await receiver.wait_for_async(1)

    payload = standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    assert payload["event_type"] == "webhook_subscription.created"
    assert payload["data"]["webhook_subscription"]["id"] == created["id"]
    assert payload["partner_id"] == world.partner.id
    assert hit.headers["webhook-id"] == payload["event_id"]

    sdk = LinqAPIV3(api_key="unused", webhook_secret=secret, base_url="http://unused")
    event = sdk.webhooks.unwrap(hit.text, headers=hit.headers)
    assert event.event_type == "webhook_subscription.created"
    assert event.to_dict()["data"]["webhook_subscription"]["events"] == ["webhook_subscription.created", EVENT]

    expected = hmac.new(secret.encode(), f"{hit.headers['x-webhook-timestamp']}.{hit.text}".encode(), hashlib.sha256)
    assert hit.headers["x-webhook-signature"] == expected.hexdigest()
    assert hit.headers["x-webhook-event"] == "webhook_subscription.created"
    assert hit.headers["x-webhook-subscription-id"] == created["id"]
    assert hit.headers["x-webhook-timestamp"] == hit.headers["webhook-timestamp"]
    assert hit.headers["content-type"] == "application/json"


async def test_tampered_body_fails_verification(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, ["webhook_subscription.created"])
    await world.worker.run_until_idle()
    (hit,) = await receiver.wait_for_async(1)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(str(created["signing_secret"])).verify(hit.body + b" ", hit.headers)


async def test_two_server_errors_then_success_is_delivered_on_the_third_attempt(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, [EVENT])
    receiver.answer(500, 503)
    await change_events(world, created["id"], [EVENT, "message.sent"])
    await world.worker.run_until_idle()
    assert len(receiver.received) == 1
    world.clock.advance(3.9)  # first retry is 5 s ± 20 %: not yet
    await world.worker.run_until_idle()
    assert len(receiver.received) == 1
    world.clock.advance(2.2)
    await world.worker.run_until_idle()
    assert len(receiver.received) == 2
    world.clock.advance(12.1)  # second retry: 10 s ± 20 %
    await world.worker.run_until_idle()
    hits = await receiver.wait_for_async(3)

    assert len({hit.headers["webhook-id"] for hit in hits}) == 1
    assert len({hit.headers["webhook-timestamp"] for hit in hits}) == 3  # re-stamped and re-signed each time
    for hit in hits:
        standardwebhooks.Webhook(str(created["signing_secret"])).verify(hit.body, hit.headers)
    log = await attempts(world, hits[0].headers["webhook-id"])
    assert [a["status_code"] for a in log] == [500, 503, 200]
    assert all(float(str(a["duration_ms"])) >= 0 for a in log)
    async with world.services.db.read() as conn:
        (delivery,) = await store.deliveries_of_event(conn, hits[0].headers["webhook-id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3


async def test_a_client_error_is_final_after_one_attempt(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, [EVENT])
    receiver.answer(Answer(400))
    await change_events(world, created["id"], [EVENT, "message.sent"])
    await world.worker.run_until_idle()
    world.clock.advance(3600)
    await world.worker.run_until_idle()
    (hit,) = receiver.received
    log = await attempts(world, hit.headers["webhook-id"])
    assert [a["status_code"] for a in log] == [400]
    assert log[0]["response_excerpt"] == "ok"
    async with world.services.db.read() as conn:
        (delivery,) = await store.deliveries_of_event(conn, hit.headers["webhook-id"])
    assert delivery["status"] == "failed"


async def test_retry_after_is_honoured(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, [EVENT])
    receiver.answer(Answer(429, {"Retry-After": "2"}))
    await change_events(world, created["id"], [EVENT, "message.sent"])
    await world.worker.run_until_idle()
    assert len(receiver.received) == 1
    world.clock.advance(1.9)
    await world.worker.run_until_idle()
    assert len(receiver.received) == 1, "retried before Retry-After elapsed"
    world.clock.advance(0.2)
    await world.worker.run_until_idle()
    first, second = await receiver.wait_for_async(2)
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 2
    log = await attempts(world, first.headers["webhook-id"])
    assert (log[1]["started_at"] - log[0]["started_at"]).total_seconds() >= 2  # type: ignore[operator]


async def test_an_unreachable_receiver_is_retried_then_given_up_within_the_window(world: World) -> None:
    from tests.support.server import free_port

    created = await world.subscribe(f"http://127.0.0.1:{free_port()}/down", [EVENT])
    await change_events(world, created["id"], [EVENT, "message.sent"])
    for _ in range(40):
        await world.worker.run_until_idle()
        world.clock.advance(60)
    async with world.services.db.read() as conn:
        deliveries = [d for d in await store.deliveries_of_event(conn, await _last_event_id(world)) if d]
    (delivery,) = deliveries
    assert delivery["status"] == "failed"
    log = await attempts(world, str(delivery["event_id"]))
    assert len(log) == 11  # the first attempt and ten retries
    assert all(a["status_code"] is None and a["error"] for a in log)
    span = (log[-1]["started_at"] - log[0]["started_at"]).total_seconds()  # type: ignore[operator]
    assert span <= 30 * 60


async def _last_event_id(world: World) -> str:
    import sqlalchemy as sa

    from linq_server.store.schema import webhook_events

    async with world.services.db.read() as conn:
        query = sa.select(webhook_events.c.id).where(webhook_events.c.event_type == EVENT)
        return str((await conn.execute(query)).scalar_one())


async def test_envelope_has_every_field_linq_sends(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url + "?version=2026-02-03", ["webhook_subscription.created"])
    await world.worker.run_until_idle()
    (hit,) = await receiver.wait_for_async(1)
    body = json.loads(hit.body)
    assert set(body) == {
        "api_version", "webhook_version", "event_type", "event_id", "created_at", "trace_id", "partner_id", "data"
    }  # fmt: skip
    assert body["api_version"] == "v3" and body["webhook_version"] == "2026-02-03"
    assert len(body["trace_id"]) == 32


async def test_one_unusable_target_does_not_hold_up_or_repeat_the_others(world: World, receiver: Receiver) -> None:
    from dataclasses import replace

    from linq_server.store import webhooks as subscriptions

    good = await world.subscribe(receiver.url, [EVENT])
    # A target that slipped past validation (stored before the check existed, say): its POST cannot even start.
    bad = await world.subscribe("https://example.com/bad", [EVENT])
    async with world.services.db.write() as conn:
        stored = await subscriptions.subscription_of(world.services.db, conn, world.partner.id, str(bad["id"]))
        assert stored is not None
        await subscriptions.update_subscription(conn, replace(stored, target_url="http://a..b/hook"))
    await change_events(world, good["id"], [EVENT, "message.sent"])
    for _ in range(3):
        await world.worker.run_until_idle()
        world.clock.advance(30)
    hits = [hit for hit in receiver.received if hit.headers["x-webhook-event"] == EVENT]
    assert len(hits) == 1  # delivered once, not re-sent with its failing neighbour
    log = await attempts_of_subscription(world, str(bad["id"]))
    assert len(log) >= 2 and all(a["status_code"] is None and a["error"] for a in log)


async def attempts_of_subscription(world: World, subscription_id: str) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from linq_server.store.schema import webhook_attempts, webhook_deliveries

    async with world.services.db.read() as conn:
        query = (
            sa.select(webhook_attempts)
            .join(webhook_deliveries, webhook_deliveries.c.id == webhook_attempts.c.delivery_id)
            .where(webhook_deliveries.c.subscription_id == subscription_id)
        )
        return [dict(row) for row in (await conn.execute(query)).mappings()]
