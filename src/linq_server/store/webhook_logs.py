"""Delivery attempts as the logs service shows them: one row per attempt, newest first, with its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import webhook_attempts, webhook_deliveries, webhook_events, webhook_subscriptions
from linq_server.vocabulary import WebhookDeliveryStatus

SUCCESS, FAILED, RETRYING = "success", "failed", "retrying"

_attempt, _delivery, _event = webhook_attempts.c, webhook_deliveries.c, webhook_events.c

# An attempt that got a 2xx succeeded; one that another attempt followed, or that leaves its delivery
# pending, is retrying; the last attempt of a delivery that ended otherwise (failed, cancelled) failed.
ATTEMPT_STATUS = sa.case(
    ((_attempt.status_code >= 200) & (_attempt.status_code < 300), SUCCESS),
    ((_attempt.attempt < _delivery.attempts) | (_delivery.status == WebhookDeliveryStatus.PENDING), RETRYING),
    else_=FAILED,
)


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    id: str
    event_id: str
    event_type: str
    trace_id: str
    subscription_id: str
    target_url: str | None  # None once the subscription is deleted
    attempt: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    status: str


async def page_of_attempts(
    conn: AsyncConnection,
    partner_id: str,
    *,
    subscription_id: str | None,
    event_type: str | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[LoggedAttempt]:
    """The partner's attempts, newest first, after the (started_at, id) keyset ``after``."""
    query = (
        sa.select(
            _attempt.id, _delivery.event_id, _event.event_type, _event.trace_id, _delivery.subscription_id,
            webhook_subscriptions.c.target_url, _attempt.attempt, _attempt.started_at, _attempt.duration_ms,
            _attempt.status_code, _attempt.error, _attempt.response_excerpt, ATTEMPT_STATUS.label("status"),
        )
        .join(webhook_deliveries, _delivery.id == _attempt.delivery_id)
        .join(webhook_events, _event.id == _delivery.event_id)
        .outerjoin(webhook_subscriptions, webhook_subscriptions.c.id == _delivery.subscription_id)
        .where(_event.partner_id == partner_id)
    )  # fmt: skip
    conditions: list[Any] = []
    if subscription_id is not None:
        conditions.append(_delivery.subscription_id == subscription_id)
    if event_type is not None:
        conditions.append(_event.event_type == event_type)
    if status is not None:
        conditions.append(status == ATTEMPT_STATUS)
    if after is not None:
        conditions.append(sa.tuple_(_attempt.started_at, _attempt.id) < sa.tuple_(*after))
    query = query.where(*conditions).order_by(_attempt.started_at.desc(), _attempt.id.desc()).limit(limit)
    return [LoggedAttempt(**row) for row in (await conn.execute(query)).mappings()]
