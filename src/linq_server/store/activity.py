"""A partner's activity mark: a few counters that move whenever something the inspector shows changes.

Every change to a message, a reaction, a member or a chat records a webhook event (with or without
subscribers), and every delivery attempt moves its delivery's counters; so comparing two marks tells a
live view whether to redraw, in one cheap query, from any process sharing the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import webhook_deliveries, webhook_events
from linq_server.vocabulary import WebhookDeliveryStatus

ActivityMark = tuple[int, int, int, int]


async def activity_mark(conn: AsyncConnection, partner_id: str) -> ActivityMark:
    """(events, deliveries, attempts, settled deliveries) of the partner."""
    events = sa.select(webhook_events.c.id).where(webhook_events.c.partner_id == partner_id).subquery()
    event_count = sa.select(sa.func.count()).select_from(events).scalar_subquery()
    settled = sa.case((webhook_deliveries.c.status != WebhookDeliveryStatus.PENDING, 1), else_=0)
    query = sa.select(
        event_count,
        sa.func.count(webhook_deliveries.c.id),
        sa.func.coalesce(sa.func.sum(webhook_deliveries.c.attempts), 0),
        sa.func.coalesce(sa.func.sum(settled), 0),
    ).where(webhook_deliveries.c.event_id.in_(sa.select(events.c.id)))
    row = (await conn.execute(query)).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])
