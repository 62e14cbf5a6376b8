"""Webhook subscriptions, events, deliveries and delivery attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.driver import Driver
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
    """The partner's subscriptions, oldest first (only the active ones: on every emit, so on the driver)."""
    if not active_only:
        return [_subscription(row) for row in await conn.execute(_SUBSCRIPTIONS_OF, {"partner_id": partner_id})]
    driver = await Driver.of(conn)
    rows = await driver.fetch(_ACTIVE_SUBSCRIPTIONS_OF, (partner_id,))
    return [_subscription_from(driver, row) for row in rows]


_SUBSCRIPTIONS_OF = (
    webhook_subscriptions.select()
    .where(webhook_subscriptions.c.partner_id == sa.bindparam("partner_id"))
    .order_by(webhook_subscriptions.c.created_at, webhook_subscriptions.c.id)
)
_SUBSCRIPTION_COLUMNS = ", ".join(f"webhook_subscriptions.{name}" for name in Subscription.__slots__)
_ACTIVE_SUBSCRIPTIONS_OF = (
    f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions"
    " WHERE partner_id = ? AND is_active ORDER BY created_at, id"
)


def _subscription_from(driver: Driver, row: Sequence[Any]) -> Subscription:
    """A subscription from the driver's row of ``_SUBSCRIPTION_COLUMNS``."""
    (id_, partner_id, target_url, secret, events, phone_numbers, active, routing_id, routing_key, created, updated) = (
        row
    )
    numbers = driver.read_json(phone_numbers)
    return Subscription(
        id=id_, partner_id=partner_id, target_url=target_url, secret_ciphertext=secret,
        subscribed_events=list(driver.read_json(events)), phone_numbers=list(numbers) if numbers is not None else None,
        is_active=bool(active), routing_id_header=routing_id, routing_key_header=routing_key,
        created_at=driver.read_time(created), updated_at=driver.read_time(updated),
    )  # fmt: skip


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
    """Events whose ``data_json`` is their data already encoded as JSON."""
    driver = await Driver.of(conn)
    await driver.execute_many(
        _INSERT_EVENT,
        [
            (r["id"], r["partner_id"], r["event_type"], r["phone_number"], r["trace_id"], r["data_json"],
             driver.time(r["created_at"]))
            for r in rows
        ],
    )  # fmt: skip


_INSERT_EVENT = (
    "INSERT INTO webhook_events (id, partner_id, event_type, phone_number, trace_id, data, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


async def insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        _INSERT_DELIVERY,
        [
            (r["id"], r["event_id"], r["subscription_id"], r["body"], str(r["status"]), r["attempts"],
             driver.time(r["created_at"]))
            for r in rows
        ],
    )  # fmt: skip


_INSERT_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, event_id, subscription_id, body, status, attempts, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


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
    "SELECT webhook_deliveries.id, webhook_deliveries.event_id, webhook_events.event_type,"
    " webhook_deliveries.subscription_id, webhook_deliveries.body, webhook_deliveries.status,"
    f" webhook_deliveries.attempts, webhook_deliveries.created_at, {_SUBSCRIPTION_COLUMNS}"
    " FROM webhook_deliveries JOIN webhook_events ON webhook_events.id = webhook_deliveries.event_id"
    " LEFT OUTER JOIN webhook_subscriptions ON webhook_subscriptions.id = webhook_deliveries.subscription_id"
    " WHERE {ids}"
)


async def deliveries_for(
    conn: AsyncConnection, delivery_ids: list[str]
) -> dict[str, tuple[Delivery, Subscription | None]]:
    """Deliveries with their event type and subscription (None once the subscription is deleted)."""
    driver = await Driver.of(conn)
    rows = await driver.fetch(
        _DELIVERIES_FOR.format(ids=driver.in_list("webhook_deliveries.id")), (driver.ids(delivery_ids),)
    )
    found: dict[str, tuple[Delivery, Subscription | None]] = {}
    for row in rows:
        id_, event_id, event_type, subscription_id, body, status, attempts, created_at = row[:8]
        delivery = Delivery(
            id=id_, event_id=event_id, event_type=event_type, subscription_id=subscription_id, body=body,
            status=WebhookDeliveryStatus(status), attempts=attempts, created_at=driver.read_time(created_at),
        )  # fmt: skip
        found[id_] = (delivery, _subscription_from(driver, row[8:]) if row[8] is not None else None)
    return found


async def record_attempts(conn: AsyncConnection, attempts: list[Attempt]) -> None:
    """Log attempts and move each delivery to its outcome, in two statements whatever their number."""
    if not attempts:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        _INSERT_ATTEMPT,
        [
            (str(uuid.uuid4()), a.delivery_id, a.attempt, driver.time(a.started_at), a.duration_ms, a.status_code,
             a.error, a.response_excerpt, driver.json(a.request_headers))
            for a in attempts
        ],
    )  # fmt: skip
    await driver.execute_many(
        _RECORD_OUTCOME, [(str(a.outcome), a.attempt, driver.time(a.finished_at), a.delivery_id) for a in attempts]
    )


_INSERT_ATTEMPT = (
    "INSERT INTO webhook_attempts"
    " (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt, request_headers)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RECORD_OUTCOME = "UPDATE webhook_deliveries SET status = ?, attempts = ?, finished_at = ? WHERE id = ?"


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
