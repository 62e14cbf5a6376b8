"""``emit``: record an event and one delivery job per matching subscription, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.jobs.queue import JobQueue
from linq_server.store import webhooks as store
from linq_server.store.webhooks import Subscription
from linq_server.vocabulary import WebhookDeliveryStatus
from linq_server.webhooks.events import CURRENT_WEBHOOK_VERSION, V2_ONLY_EVENTS, envelope_body
from linq_server.webhooks.targets import webhook_version_of

DELIVER_JOB = "webhook.deliver"
# Attempts a delivery gets (1 + 10 retries); the job layer allows more as a safety net for crashes.
MAX_DELIVERY_ATTEMPTS = 11


def wants(subscription: Subscription, event_type: str, phone_number: str | None) -> bool:
    """Does this subscription receive this event? Events without a line pass any line filter."""
    if not subscription.is_active or event_type not in subscription.subscribed_events:
        return False
    if subscription.phone_numbers and phone_number is not None:
        return phone_number in subscription.phone_numbers
    return True


@dataclass(frozen=True, slots=True)
class Event:
    """An event to record: its type, its ``data`` (shaped as Linq's), whose it is and what caused it."""

    event_type: str
    data: dict[str, Any]
    partner_id: str
    trace_id: str
    phone_number: str | None = None


class DeliveryPlanner(Protocol):
    """Decides, per partner, when each delivery goes out and whether it is doubled (sandbox webhook faults)."""

    async def plan(
        self, conn: AsyncConnection, partner_id: str, deliveries: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], float]]: ...


class Emitter:
    def __init__(self, queue: JobQueue, planner: DeliveryPlanner | None = None) -> None:
        self.queue = queue
        self.planner = planner

    async def emit(
        self,
        conn: AsyncConnection,
        *,
        event_type: str,
        data: dict[str, Any],
        partner_id: str,
        trace_id: str,
        phone_number: str | None = None,
    ) -> str:
        """Record one event; returns its id (= the ``webhook-id`` of every delivery of it)."""
        (event_id,) = await self.emit_all(conn, [Event(event_type, data, partner_id, trace_id, phone_number)])
        return event_id

    async def emit_all(self, conn: AsyncConnection, events: list[Event]) -> list[str]:
        """Record events and one delivery job per matching subscription, in the caller's transaction.

        So an event exists exactly when the change it reports does. A few statements, however many events.
        """
        if not events:
            return []
        now = self.queue.clock.now()
        ids = [str(uuid.uuid4()) for _ in events]
        data_json = [json.dumps(e.data, separators=(",", ":")) for e in events]
        await store.insert_events(
            conn,
            [
                {"id": event_id, "partner_id": e.partner_id, "event_type": e.event_type, "phone_number": e.phone_number,
                 "trace_id": e.trace_id, "data_json": data, "created_at": now}
                for event_id, e, data in zip(ids, events, data_json, strict=True)
            ],
        )  # fmt: skip
        subscriptions = {
            partner_id: await store.subscriptions_of(conn, partner_id, active_only=True)
            for partner_id in {e.partner_id for e in events}
        }
        deliveries: dict[str, list[dict[str, Any]]] = {partner_id: [] for partner_id in subscriptions}
        for event_id, event, data in zip(ids, events, data_json, strict=True):
            for subscription in subscriptions[event.partner_id]:
                if not wants(subscription, event.event_type, event.phone_number):
                    continue
                version = webhook_version_of(subscription.target_url)
                if event.event_type in V2_ONLY_EVENTS and version != CURRENT_WEBHOOK_VERSION:
                    continue
                body = envelope_body(
                    event_type=event.event_type, event_id=event_id, created_at=now, partner_id=event.partner_id,
                    trace_id=event.trace_id, webhook_version=version, data_json=data,
                )  # fmt: skip
                deliveries[event.partner_id].append(
                    {"id": str(uuid.uuid4()), "event_id": event_id, "subscription_id": subscription.id, "body": body,
                     "status": WebhookDeliveryStatus.PENDING, "attempts": 0, "created_at": now}
                )  # fmt: skip
        planned: list[tuple[dict[str, Any], float]] = []
        for partner_id, rows in deliveries.items():
            planned += await self.planner.plan(conn, partner_id, rows) if self.planner else [(r, 0.0) for r in rows]
        await store.insert_deliveries(conn, [row for row, _delay in planned])
        # A lane per subscription: a target that hangs holds only its own deliveries.
        await self.queue.schedule(
            conn, DELIVER_JOB,
            [({"delivery_id": row["id"], "subscription_id": row["subscription_id"]}, delay) for row, delay in planned],
            max_attempts=2 * MAX_DELIVERY_ATTEMPTS, lane_key="subscription_id",
        )  # fmt: skip
        return ids
