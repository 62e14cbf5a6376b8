"""What each recipient's device did with an outbound message: pending, delivered, read or failed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.driver import Driver
from linq_server.store.schema import message_recipients, messages

PENDING, DELIVERED, READ, FAILED = "pending", "delivered", "read", "failed"


@dataclass(frozen=True, slots=True)
class Recipient:
    message_id: str
    handle: str
    status: str
    delivered_at: datetime | None
    read_at: datetime | None


async def insert_recipients(conn: AsyncConnection, recipients: dict[str, list[str]]) -> None:
    """Each message's recipients (by message id), pending, in one statement."""
    rows = [(message_id, handle) for message_id, handles in recipients.items() for handle in handles]
    if rows:
        driver = await Driver.of(conn)
        await driver.execute_many(
            f"INSERT INTO message_recipients (message_id, handle, status) VALUES (?, ?, '{PENDING}')", rows
        )


async def recipients_for_messages(conn: AsyncConnection, message_ids: list[str]) -> dict[str, list[Recipient]]:
    """Each message's recipient rows, by message id, in one query."""
    found: dict[str, list[Recipient]] = {message_id: [] for message_id in message_ids}
    if message_ids:
        for row in (await conn.execute(_RECIPIENTS_FOR_MESSAGES, {"ids": message_ids})).all():
            found[row.message_id].append(Recipient(**row._mapping))
    return found


_RECIPIENTS_FOR_MESSAGES = sa.select(message_recipients).where(
    message_recipients.c.message_id.in_(sa.bindparam("ids", expanding=True))
)


async def recipients_of(
    conn: AsyncConnection, keys: list[tuple[str, str]], *, lock: bool
) -> dict[tuple[str, str], Recipient]:
    """The (message id, handle) rows asked for, locked until commit if ``lock`` (every device step: on the driver)."""
    if not keys:
        return {}
    driver = await Driver.of(conn)
    sql = (
        "SELECT message_id, handle, status, delivered_at, read_at FROM message_recipients"
        f" WHERE {driver.in_pairs('message_id', 'handle')} ORDER BY message_id, handle{driver.for_update(lock)}"
    )
    found: dict[tuple[str, str], Recipient] = {}
    for message_id, handle, status, delivered_at, read_at in await driver.fetch(sql, driver.pairs(keys)):
        found[(message_id, handle)] = Recipient(
            message_id, handle, status, driver.read_time_or_none(delivered_at), driver.read_time_or_none(read_at)
        )
    return found


async def update_recipients(conn: AsyncConnection, updates: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
    """Several recipient rows' updates ((message id, handle), column values): alike ones in one statement."""
    driver = await Driver.of(conn)
    alike: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for (message_id, handle), values in updates:
        names = tuple(sorted(values))
        row = (*(driver.value(message_recipients.c[name], values[name]) for name in names), message_id, handle)
        alike.setdefault(names, []).append(row)
    for names, rows in alike.items():
        await driver.execute_many(_update_recipients(names), rows)


@functools.cache
def _update_recipients(names: tuple[str, ...]) -> str:
    """The update of these columns, written once per set of columns."""
    columns = ", ".join(f"{name} = ?" for name in names)
    return f"UPDATE message_recipients SET {columns} WHERE message_id = ? AND handle = ?"


async def waiting_for(conn: AsyncConnection, partner_id: str, handle: str) -> list[str]:
    """Ids of sent messages still pending on ``handle``'s device (it was offline), oldest first."""
    query = (
        sa.select(messages.c.id)
        .join(message_recipients, message_recipients.c.message_id == messages.c.id)
        .where(
            message_recipients.c.handle == handle,
            message_recipients.c.status == PENDING,
            messages.c.partner_id == partner_id,
            messages.c.sent_at.is_not(None),
        )
        .order_by(messages.c.created_at, messages.c.seq)
    )
    return list((await conn.execute(query)).scalars())


async def unread_by(conn: AsyncConnection, chat_id: str, handle: str) -> list[str]:
    """Ids of the chat's outbound messages delivered to ``handle`` and not yet read by them."""
    query = (
        sa.select(messages.c.id)
        .join(message_recipients, message_recipients.c.message_id == messages.c.id)
        .where(
            messages.c.chat_id == chat_id,
            message_recipients.c.handle == handle,
            message_recipients.c.status == DELIVERED,
        )
        .order_by(messages.c.seq)
    )
    return list((await conn.execute(query)).scalars())
