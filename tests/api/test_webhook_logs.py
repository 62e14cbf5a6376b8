"""GET /api/v1/webhook-logs: attempts with their status, newest first, in cursor pages; errors in the envelope."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.support.receiver import Receiver

LOGS = "http://testserver/api/v1/webhook-logs"
EVENT = "webhook_subscription.events.updated"


async def change_events(world: World, subscription_id: object, events: list[str]) -> None:
    answer = await world.http.put(f"/v3/webhook-subscriptions/{subscription_id}", json={"subscribed_events": events})
    assert answer.status_code == 200, answer.text


async def logs(world: World, **query: Any) -> dict[str, Any]:
    answer = await world.http.get(LOGS, params=query)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def test_attempts_carry_success_retrying_and_failed_and_page_with_a_cursor(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, [EVENT])
    receiver.answer(500, 200, 400)
    await change_events(world, created["id"], [EVENT, "message.sent"])  # 500, then 200 on the retry
    await world.worker.run_until_idle()
    world.clock.advance(6.1)
    await world.worker.run_until_idle()
    world.clock.advance(1)
    await change_events(world, created["id"], [EVENT])  # 400: final at once
    await world.worker.run_until_idle()
    await receiver.wait_for_async(3)

    everything = (await logs(world, subscription_id=created["id"], per_page=10))["webhook_logs"]
    assert [(e["http_status_code"], e["status"], e["attempt"]) for e in everything] == [
        (400, "failed", 1), (200, "success", 2), (500, "retrying", 1),
    ]  # fmt: skip
    failed = everything[0]
    assert failed["error_type"] == "http_error" and failed["error_message"] == "HTTP 400: ok"
    assert failed["max_attempts"] == 11 and failed["webhook_event_type"] == EVENT
    assert failed["target_url"] == receiver.url and len(failed["trace_id"]) == 32

    first = await logs(world, subscription_id=created["id"], per_page=2)
    assert first["pagination"]["has_more"] and first["pagination"]["per_page"] == 2
    second = await logs(world, subscription_id=created["id"], per_page=2, cursor=first["pagination"]["next_cursor"])
    assert first["webhook_logs"] + second["webhook_logs"] == everything
    assert second["pagination"] == {"has_more": False, "next_cursor": None, "per_page": 2}

    only_failed = await logs(world, subscription_id=created["id"], status="failed")
    assert [e["http_status_code"] for e in only_failed["webhook_logs"]] == [400]
    by_type = await logs(world, subscription_id=created["id"], event_type="message.sent")
    assert by_type["webhook_logs"] == []


async def test_logs_need_a_key_and_reject_bad_queries(world: World) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app)) as anonymous:
        answer = await anonymous.get(LOGS)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == 2004
    for query in ({"status": "lost"}, {"per_page": "0"}, {"per_page": "many"}, {"cursor": "%%%"}):
        answer = await world.http.get(LOGS, params=query)
        assert answer.status_code == 400, query
        assert answer.json()["success"] is False
