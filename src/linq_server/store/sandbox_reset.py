"""Deleting everything a partner made in its sandbox, while keeping the partner, its keys and its lines."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import (
    attachments,
    blocked_handles,
    chats,
    contact_cards,
    opt_outs,
    partners,
    phone_numbers,
    rate_limits,
    sandbox_fault_rules,
    sandbox_faults,
    sandbox_handles,
    sandbox_lines,
    send_windows,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from linq_server.vocabulary import LineStatus

# Rows of these cascade away with them: participants, changes, messages (with their recipients and
# reactions) and typing with chats; deliveries and attempts with events. Jobs that pointed at deleted
# rows find nothing and finish.
_OWNED = (
    chats, webhook_events, webhook_subscriptions, sandbox_handles, sandbox_faults, sandbox_fault_rules, attachments,
    opt_outs, contact_cards, rate_limits, blocked_handles,
)  # fmt: skip


async def stored_attachment_keys(conn: AsyncConnection, partner_id: str) -> list[str]:
    """Where the partner's attachment bytes lie (to purge them with the rows)."""
    query = sa.select(attachments.c.storage_key).where(
        attachments.c.partner_id == partner_id, attachments.c.storage_key.is_not(None)
    )
    return [str(key) for key in (await conn.execute(query)).scalars()]


async def delete_partner_data(conn: AsyncConnection, partner_id: str) -> dict[str, int]:
    """Delete everything the partner made (chats and messages, events, subscriptions, attachments, overrides,
    faults, opt-outs, contact cards, rate-limit state); returns rows per table."""
    deleted: dict[str, int] = {}
    lines = sa.select(phone_numbers.c.id).where(phone_numbers.c.partner_id == partner_id)
    numbers = sa.select(phone_numbers.c.phone_number).where(phone_numbers.c.partner_id == partner_id)
    # Lines stay, active again; the account's sandbox rules go back to their defaults.
    active = phone_numbers.update().where(phone_numbers.c.partner_id == partner_id).values(status=LineStatus.ACTIVE)
    await conn.execute(active)
    await conn.execute(partners.update().where(partners.c.id == partner_id).values(recipients_must_message_first=False))
    result = await conn.execute(sandbox_lines.delete().where(sandbox_lines.c.line_id.in_(lines)))
    deleted["sandbox_lines"] = int(result.rowcount)
    result = await conn.execute(send_windows.delete().where(send_windows.c.line_number.in_(numbers)))
    deleted["send_windows"] = int(result.rowcount)
    # Deliveries of the partner's events go first: on SQLite a cascade is not counted, and deliveries
    # of a deleted subscription reference it without a foreign key.
    events = sa.select(webhook_events.c.id).where(webhook_events.c.partner_id == partner_id)
    result = await conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.event_id.in_(events)))
    deleted["webhook_deliveries"] = int(result.rowcount)
    for table in _OWNED:
        result = await conn.execute(table.delete().where(table.c.partner_id == partner_id))
        deleted[table.name] = int(result.rowcount)
    return deleted
