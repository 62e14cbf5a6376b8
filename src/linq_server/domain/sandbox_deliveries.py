"""The sandbox's webhook delivery log: list a partner's deliveries with every attempt, and resend one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, ResourceNotFound, StateConflict
from linq_server.domain.ids import parse_id
from linq_server.store import deliveries as store
from linq_server.store import webhooks as webhook_store
from linq_server.store.deliveries import AttemptRecord, DeliveryRecord
from linq_server.vocabulary import WebhookDeliveryStatus
from linq_server.webhooks.emitter import DELIVER_JOB, MAX_DELIVERY_ATTEMPTS

STATUSES = tuple(WebhookDeliveryStatus)


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    delivery: DeliveryRecord
    attempts: list[AttemptRecord]


def encode_cursor(delivery: DeliveryRecord) -> str:
    return base64.urlsafe_b64encode(f"{delivery.created_at.isoformat()}|{delivery.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created_at), parse_id(delivery_id, InvalidParameterValue)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterValue("cursor is not one this server issued") from error


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise InvalidParameterValue(f"status must be one of {', '.join(STATUSES)}")
    return status


async def list_deliveries(
    ctx: DomainContext,
    partner_id: str,
    *,
    event_type: str | None,
    status: str | None,
    subscription_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DeliveryLog], str | None]:
    """A page of the partner's deliveries, newest first, each with its attempts; and the next page's cursor."""
    after = decode_cursor(cursor) if cursor else None
    async with ctx.db.read() as conn:
        page = await store.page_of_deliveries(
            conn, partner_id, event_type=event_type, status=check_status(status), subscription_id=subscription_id,
            after=after, limit=limit + 1,
        )  # fmt: skip
        more = len(page) > limit
        page = page[:limit]
        attempts = await store.attempts_for(conn, [d.id for d in page])
    return [DeliveryLog(d, attempts[d.id]) for d in page], encode_cursor(page[-1]) if more else None


async def get_delivery(ctx: DomainContext, partner_id: str, delivery_id: str) -> DeliveryLog:
    async with ctx.db.read() as conn:
        delivery = await store.delivery_of(conn, partner_id, parse_id(delivery_id, ResourceNotFound))
        if delivery is None:
            raise ResourceNotFound("Delivery not found")
        return DeliveryLog(delivery, (await store.attempts_for(conn, [delivery.id]))[delivery.id])


async def resend(ctx: DomainContext, partner_id: str, delivery_id: str) -> DeliveryLog:
    """Send a delivery's event again to its subscription: a new delivery, same body and ``webhook-id``,
    with a fresh retry window. 409 when the subscription is gone or disabled."""
    async with ctx.db.write() as conn:
        delivery = await store.delivery_of(conn, partner_id, parse_id(delivery_id, ResourceNotFound))
        if delivery is None:
            raise ResourceNotFound("Delivery not found")
        subscription = await webhook_store.subscription_of(ctx.db, conn, partner_id, delivery.subscription_id)
        if subscription is None or not subscription.is_active:
            raise StateConflict("The delivery's webhook subscription was deleted or is disabled")
        copy_id = await store.insert_copy(conn, delivery, ctx.clock.now())
        await ctx.queue.enqueue(
            conn, DELIVER_JOB, {"delivery_id": copy_id, "subscription_id": subscription.id},
            max_attempts=2 * MAX_DELIVERY_ATTEMPTS, lane_key="subscription_id",
        )  # fmt: skip
        copy = await store.delivery_of(conn, partner_id, copy_id)
    assert copy is not None
    return DeliveryLog(copy, [])
