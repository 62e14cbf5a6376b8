"""Reading a partner's webhook deliveries and their attempts (the sandbox's delivery log)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import webhook_attempts, webhook_deliveries, webhook_events, webhook_subscriptions
from linq_server.vocabulary import WebhookDeliveryStatus


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    event_id: str
    event_type: str
    subscription_id: str
    target_url: str | None  # None once the subscription is deleted
    body: str
    status: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    request_headers: dict[str, str] | None


def _query(partner_id: str) -> sa.Select[Any]:
    columns = [webhook_subscriptions.c.target_url if name == "target_url" else
               webhook_events.c.event_type if name == "event_type" else webhook_deliveries.c[name]
               for name in DeliveryRecord.__slots__]  # fmt: skip
    return (
        sa.select(*columns)
        .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
        .outerjoin(webhook_subscriptions, webhook_subscriptions.c.id == webhook_deliveries.c.subscription_id)
        .where(webhook_events.c.partner_id == partner_id)
    )


def _record(row: Any) -> DeliveryRecord:
    return DeliveryRecord(**{name: getattr(row, name) for name in DeliveryRecord.__slots__})


async def page_of_deliveries(
    conn: AsyncConnection,
    partner_id: str,
    *,
    event_type: str | None,
    status: str | None,
    subscription_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[DeliveryRecord]:
    """The partner's deliveries, newest first, strictly after the cursor ``(created_at, id)``."""
    query = _query(partner_id)
    if event_type:
        query = query.where(webhook_events.c.event_type == event_type)
    if status:
        query = query.where(webhook_deliveries.c.status == status)
    if subscription_id:
        query = query.where(webhook_deliveries.c.subscription_id == subscription_id)
    if after:
        created_at, delivery_id = after
        query = query.where(
            sa.or_(
                webhook_deliveries.c.created_at < created_at,
                sa.and_(webhook_deliveries.c.created_at == created_at, webhook_deliveries.c.id < delivery_id),
            )
        )
    query = query.order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc()).limit(limit)
    return [_record(row) for row in await conn.execute(query)]


async def delivery_of(conn: AsyncConnection, partner_id: str, delivery_id: str) -> DeliveryRecord | None:
    row = (await conn.execute(_query(partner_id).where(webhook_deliveries.c.id == delivery_id))).first()
    return _record(row) if row else None


async def attempts_for(conn: AsyncConnection, delivery_ids: list[str]) -> dict[str, list[AttemptRecord]]:
    found: dict[str, list[AttemptRecord]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    query = (
        webhook_attempts.select()
        .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.attempt)
    )
    for row in await conn.execute(query):
        found[row.delivery_id].append(
            AttemptRecord(
                attempt=row.attempt, started_at=row.started_at, duration_ms=row.duration_ms,
                status_code=row.status_code, error=row.error, response_excerpt=row.response_excerpt,
                request_headers=dict(row.request_headers) if row.request_headers is not None else None,
            )
        )  # fmt: skip
    return found


async def insert_copy(conn: AsyncConnection, delivery: DeliveryRecord, now: datetime) -> str:
    """A new pending delivery of the same event to the same subscription (same body, same ``webhook-id``)."""
    copy_id = str(uuid.uuid4())
    await conn.execute(
        webhook_deliveries.insert().values(
            id=copy_id, event_id=delivery.event_id, subscription_id=delivery.subscription_id, body=delivery.body,
            status=WebhookDeliveryStatus.PENDING, attempts=0, created_at=now,
        )
    )  # fmt: skip
    return copy_id
