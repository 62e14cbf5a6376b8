"""``emit``: record an event and one delivery job per matching subscription, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.jobs.queue import JobQueue
from linq_server.store import webhooks as store
from linq_server.store.webhooks import Subscription
from linq_server.webhooks.events import CURRENT_WEBHOOK_VERSION, V2_ONLY_EVENTS, envelope
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


class Emitter:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

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
        """Record ``event_type`` for ``partner_id``; returns the event id (= ``webhook-id`` of every delivery).

        Runs inside the caller's transaction, so the event exists exactly when the change it reports does.
        """
        now = self.queue.clock.now()
        event_id = str(uuid.uuid4())
        await store.insert_event(
            conn, event_id=event_id, partner_id=partner_id, event_type=event_type, phone_number=phone_number,
            trace_id=trace_id, data=data, created_at=now,
        )  # fmt: skip
        for subscription in await store.subscriptions_of(conn, partner_id, active_only=True):
            if not wants(subscription, event_type, phone_number):
                continue
            version = webhook_version_of(subscription.target_url)
            if event_type in V2_ONLY_EVENTS and version != CURRENT_WEBHOOK_VERSION:
                continue
            body = json.dumps(
                envelope(
                    event_type=event_type, event_id=event_id, created_at=now, partner_id=partner_id,
                    trace_id=trace_id, webhook_version=version, data=data,
                ),
                separators=(",", ":"),
            )  # fmt: skip
            delivery_id = str(uuid.uuid4())
            await store.insert_delivery(
                conn, delivery_id=delivery_id, event_id=event_id, subscription_id=subscription.id, body=body,
                created_at=now,
            )  # fmt: skip
            await self.queue.enqueue(
                conn, DELIVER_JOB, {"delivery_id": delivery_id}, max_attempts=2 * MAX_DELIVERY_ATTEMPTS
            )
        return event_id
