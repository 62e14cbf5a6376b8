"""Deleting everything a partner made in its sandbox, while keeping the partner, its keys and its lines."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import (
    chats,
    sandbox_fault_rules,
    sandbox_faults,
    sandbox_handles,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)

# Rows of these cascade away with them: participants, changes and messages with chats; deliveries
# and attempts with events. Jobs that pointed at deleted rows find nothing and finish.
_OWNED = (chats, webhook_events, webhook_subscriptions, sandbox_handles, sandbox_faults, sandbox_fault_rules)


async def delete_partner_data(conn: AsyncConnection, partner_id: str) -> dict[str, int]:
    """Delete the partner's chats, events, subscriptions, handle overrides and faults; returns rows per table."""
    deleted: dict[str, int] = {}
    # Deliveries of the partner's events go first: on SQLite a cascade is not counted, and deliveries
    # of a deleted subscription reference it without a foreign key.
    events = sa.select(webhook_events.c.id).where(webhook_events.c.partner_id == partner_id)
    result = await conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.event_id.in_(events)))
    deleted["webhook_deliveries"] = int(result.rowcount)
    for table in _OWNED:
        result = await conn.execute(table.delete().where(table.c.partner_id == partner_id))
        deleted[table.name] = int(result.rowcount)
    return deleted
