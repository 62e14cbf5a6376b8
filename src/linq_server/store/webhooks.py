"""Webhook subscriptions, events, deliveries and delivery attempts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import webhook_attempts, webhook_deliveries, webhook_events, webhook_subscriptions
from linq_server.vocabulary import WebhookDeliveryStatus


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    partner_id: str
    target_url: str
    secret_ciphertext: str
    subscribed_events: list[str]
    phone_numbers: list[str] | None
    is_active: bool
    routing_id_header: str | None
    routing_key_header: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    subscription_id: str
    body: str
    status: WebhookDeliveryStatus
    attempts: int
    created_at: datetime


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        partner_id=row.partner_id,
        target_url=row.target_url,
        secret_ciphertext=row.secret_ciphertext,
        subscribed_events=list(row.subscribed_events),
        phone_numbers=list(row.phone_numbers) if row.phone_numbers is not None else None,
        is_active=row.is_active,
        routing_id_header=row.routing_id_header,
        routing_key_header=row.routing_key_header,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert_subscription(conn: AsyncConnection, subscription: Subscription) -> bool:
    """Insert; False when the partner already has a subscription for that URL."""
    try:
        async with conn.begin_nested():
            await conn.execute(webhook_subscriptions.insert().values(**_columns(subscription)))
    except sa.exc.IntegrityError:
        return False
    return True


def _columns(subscription: Subscription) -> dict[str, Any]:
    return {name: getattr(subscription, name) for name in Subscription.__slots__}


async def update_subscription(conn: AsyncConnection, subscription: Subscription) -> bool:
    """Update; False when the new URL is already used by another subscription of the partner."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                webhook_subscriptions.update()
                .where(webhook_subscriptions.c.id == subscription.id)
                .values(**_columns(subscription))
            )
    except sa.exc.IntegrityError:
        return False
    return True


async def delete_subscription(conn: AsyncConnection, subscription_id: str) -> None:
    await conn.execute(webhook_subscriptions.delete().where(webhook_subscriptions.c.id == subscription_id))


async def subscription_of(
    db: Database, conn: AsyncConnection, partner_id: str, subscription_id: str, *, lock: bool = False
) -> Subscription | None:
    query = webhook_subscriptions.select().where(
        webhook_subscriptions.c.id == subscription_id, webhook_subscriptions.c.partner_id == partner_id
    )
    row = (await conn.execute(db.for_update(query) if lock else query)).first()
    return _subscription(row) if row else None


async def subscriptions_of(conn: AsyncConnection, partner_id: str, *, active_only: bool = False) -> list[Subscription]:
    query = _ACTIVE_SUBSCRIPTIONS_OF if active_only else _SUBSCRIPTIONS_OF
    return [_subscription(row) for row in await conn.execute(query, {"partner_id": partner_id})]


_SUBSCRIPTIONS_OF = (
    webhook_subscriptions.select()
    .where(webhook_subscriptions.c.partner_id == sa.bindparam("partner_id"))
    .order_by(webhook_subscriptions.c.created_at, webhook_subscriptions.c.id)
)
_ACTIVE_SUBSCRIPTIONS_OF = _SUBSCRIPTIONS_OF.where(webhook_subscriptions.c.is_active.is_(True))


async def recent_events(
    conn: AsyncConnection, partner_id: str, event_types: list[str], since: datetime
) -> list[tuple[str, dict[str, Any], datetime]]:
    """The partner's events of these types since ``since``, oldest first: (type, data, when)."""
    query = (
        sa.select(webhook_events.c.event_type, webhook_events.c.data, webhook_events.c.created_at)
        .where(
            webhook_events.c.partner_id == partner_id,
            webhook_events.c.created_at >= since,
            webhook_events.c.event_type.in_(event_types),
        )
        .order_by(webhook_events.c.created_at)
    )
    return [(row.event_type, dict(row.data), row.created_at) for row in await conn.execute(query)]


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(webhook_events.insert(), rows)


async def insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(webhook_deliveries.insert(), rows)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, and the state it leaves the delivery in."""

    delivery_id: str
    attempt: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    outcome: WebhookDeliveryStatus
    finished_at: datetime | None
    request_headers: dict[str, str] | None = None


_DELIVERIES_FOR = (
    sa.select(
        webhook_deliveries,
        webhook_events.c.event_type,
        *[column.label(f"sub_{column.name}") for column in webhook_subscriptions.c],
    )
    .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
    .outerjoin(webhook_subscriptions, webhook_subscriptions.c.id == webhook_deliveries.c.subscription_id)
    .where(webhook_deliveries.c.id.in_(sa.bindparam("ids", expanding=True)))
)


async def deliveries_for(
    conn: AsyncConnection, delivery_ids: list[str]
) -> dict[str, tuple[Delivery, Subscription | None]]:
    """Deliveries with their event type and subscription (None once the subscription is deleted)."""
    found: dict[str, tuple[Delivery, Subscription | None]] = {}
    for row in (await conn.execute(_DELIVERIES_FOR, {"ids": delivery_ids})).mappings():
        delivery = Delivery(
            id=row["id"], event_id=row["event_id"], event_type=row["event_type"],
            subscription_id=row["subscription_id"], body=row["body"], status=WebhookDeliveryStatus(row["status"]),
            attempts=row["attempts"], created_at=row["created_at"],
        )  # fmt: skip
        subscription = None
        if row["sub_id"] is not None:
            fields = {name: row[f"sub_{name}"] for name in Subscription.__slots__}
            subscription = Subscription(**fields)
        found[delivery.id] = (delivery, subscription)
    return found


_RECORD_OUTCOME = (
    webhook_deliveries.update()
    .where(webhook_deliveries.c.id == sa.bindparam("delivery"))
    .values(status=sa.bindparam("outcome"), attempts=sa.bindparam("count"), finished_at=sa.bindparam("finished"))
)


async def record_attempts(conn: AsyncConnection, attempts: list[Attempt]) -> None:
    """Log attempts and move each delivery to its outcome, in two statements whatever their number."""
    if not attempts:
        return
    await conn.execute(
        webhook_attempts.insert(),
        [
            {
                "id": str(uuid.uuid4()), "delivery_id": a.delivery_id, "attempt": a.attempt, "started_at": a.started_at,
                "duration_ms": a.duration_ms, "status_code": a.status_code, "error": a.error,
                "response_excerpt": a.response_excerpt, "request_headers": a.request_headers,
            }
            for a in attempts
        ],
    )  # fmt: skip
    await conn.execute(
        _RECORD_OUTCOME,
        [
            {"delivery": a.delivery_id, "outcome": a.outcome, "count": a.attempt, "finished": a.finished_at}
            for a in attempts
        ],
    )


async def finish_delivery(
    conn: AsyncConnection, delivery_id: str, status: WebhookDeliveryStatus, finished_at: datetime
) -> None:
    await conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(status=status, finished_at=finished_at)
    )


async def attempts_of(conn: AsyncConnection, delivery_id: str) -> list[dict[str, Any]]:
    query = (
        webhook_attempts.select()
        .where(webhook_attempts.c.delivery_id == delivery_id)
        .order_by(webhook_attempts.c.attempt)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def deliveries_of_event(conn: AsyncConnection, event_id: str) -> list[dict[str, Any]]:
    query = webhook_deliveries.select().where(webhook_deliveries.c.event_id == event_id)
    return [dict(row) for row in (await conn.execute(query)).mappings()]
