"""What the relay reads: the subscription a delivery claims to come from, and a delivery's exact body."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import webhook_deliveries, webhook_subscriptions


async def subscription_owner(conn: AsyncConnection, subscription_id: str) -> tuple[str, str] | None:
    """(partner id, sealed signing secret) of a subscription of any partner; None when there is none."""
    query = sa.select(webhook_subscriptions.c.partner_id, webhook_subscriptions.c.secret_ciphertext).where(
        webhook_subscriptions.c.id == subscription_id
    )
    row = (await conn.execute(query)).first()
    return (row.partner_id, row.secret_ciphertext) if row else None


async def delivery_body(conn: AsyncConnection, event_id: str, subscription_id: str) -> str | None:
    """The body that is signed and sent for this event to this subscription."""
    query = sa.select(webhook_deliveries.c.body).where(
        webhook_deliveries.c.event_id == event_id, webhook_deliveries.c.subscription_id == subscription_id
    )
    body: str | None = (await conn.execute(query.limit(1))).scalar()
    return body
