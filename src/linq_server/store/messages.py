"""Messages: the row and its queries."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.driver import Driver
from linq_server.store.schema import chat_participants, chats, messages


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: str
    chat_id: str
    partner_id: str
    seq: int
    is_from_me: bool
    sender_handle: str
    parts: list[dict[str, Any]]
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    thread_id: str | None
    service: str
    preferred_service: str | None
    delivery_status: str
    idempotency_key: str | None
    trace_id: str
    error_code: int | None
    error_reason: str | None
    edit_count: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    deleted_at: datetime | None


# Columns selected in the order of the dataclass fields, so rows become dataclasses positionally (fast).
_MESSAGE_COLUMNS = [messages.c[name] for name in MessageRow.__slots__]


def _message(row: Any) -> MessageRow:
    return MessageRow(*row)


async def next_seq(conn: AsyncConnection, chat_id: str) -> int:
    """Take the chat's next message number; the chat row stays locked until commit, so numbers follow acceptance."""
    result = await conn.execute(
        chats.update()
        .where(chats.c.id == chat_id)
        .values(message_seq=chats.c.message_seq + 1)
        .returning(chats.c.message_seq)
    )
    return int(result.scalar_one())


async def message_seqs(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, int]:
    """The chats' last message numbers, their rows locked until commit (in id order), so numbers follow acceptance."""
    driver = await Driver.of(conn)
    sql = f"SELECT id, message_seq FROM chats WHERE {driver.in_list('id')} ORDER BY id{driver.for_update(True)}"
    return {chat_id: int(seq) for chat_id, seq in await driver.fetch(sql, (driver.ids(chat_ids),))}


async def set_message_seqs(conn: AsyncConnection, seqs: dict[str, int]) -> None:
    """Record the chats' last message numbers, in one statement."""
    if not seqs:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        "UPDATE chats SET message_seq = ? WHERE id = ?", [(seq, chat_id) for chat_id, seq in sorted(seqs.items())]
    )


async def insert_message(conn: AsyncConnection, message: MessageRow) -> None:
    await insert_messages(conn, [message])


async def insert_messages(conn: AsyncConnection, rows: list[MessageRow]) -> None:
    """Several messages in one statement."""
    if not rows:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        _INSERT_MESSAGE,
        [
            tuple(driver.value(messages.c[name], getattr(message, name)) for name in MessageRow.__slots__)
            for message in rows
        ],
    )


_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MessageRow.__slots__)}) VALUES ({', '.join('?' for _ in MessageRow.__slots__)})"
)


async def message_of(
    db: Database, conn: AsyncConnection, partner_id: str, message_id: str, *, lock: bool = False
) -> MessageRow | None:
    """The partner's message (deleted ones too: callers decide), locked until commit if ``lock``."""
    query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.id == message_id, messages.c.partner_id == partner_id)
    row = (await conn.execute(db.for_update(query) if lock else query)).first()
    return _message(row) if row else None


async def messages_by_ids(conn: AsyncConnection, ids: list[str], *, lock: bool) -> dict[str, MessageRow]:
    """Messages by id, locked until commit if ``lock`` (every device step reads its messages: on the driver)."""
    if not ids:
        return {}
    driver = await Driver.of(conn)
    sql = f"{_SELECT_MESSAGES} WHERE {driver.in_list('id')} ORDER BY id{driver.for_update(lock)}"
    found: dict[str, MessageRow] = {}
    for row in await driver.fetch(sql, (driver.ids(ids),)):
        (id_, chat_id, partner_id, seq, is_from_me, sender, parts, effect, reply_to, thread_id, service, preferred,
         status, key, trace_id, error_code, error_reason, edit_count, created, updated, sent, delivered, read, failed,
         deleted) = row  # fmt: skip
        found[id_] = MessageRow(
            id_, chat_id, partner_id, seq, bool(is_from_me), sender, driver.read_json(parts), driver.read_json(effect),
            driver.read_json(reply_to), thread_id, service, preferred, status, key, trace_id, error_code, error_reason,
            edit_count, driver.read_time(created), driver.read_time(updated), driver.read_time_or_none(sent),
            driver.read_time_or_none(delivered), driver.read_time_or_none(read), driver.read_time_or_none(failed),
            driver.read_time_or_none(deleted),
        )  # fmt: skip
    return found


_SELECT_MESSAGES = "SELECT " + ", ".join(MessageRow.__slots__) + " FROM messages"


async def message_by_key(conn: AsyncConnection, partner_id: str, key: str) -> MessageRow | None:
    query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.partner_id == partner_id, messages.c.idempotency_key == key)
    row = (await conn.execute(query)).first()
    return _message(row) if row else None


async def page_of_messages(
    conn: AsyncConnection, chat_id: str, *, before_seq: int | None, limit: int
) -> list[MessageRow]:
    """Newest first: one index range scan on (chat_id, seq), whatever the chat's size."""
    query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.chat_id == chat_id, messages.c.deleted_at.is_(None))
    if before_seq is not None:
        query = query.where(messages.c.seq < before_seq)
    rows = (await conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))).all()
    return [_message(row) for row in rows]


async def page_of_thread(
    conn: AsyncConnection, thread_id: str, *, after_seq: int | None, limit: int, newest_first: bool
) -> list[MessageRow]:
    """The originator and its replies, in send order (or reversed), from just past ``after_seq``."""
    query = sa.select(*_MESSAGE_COLUMNS).where(
        sa.or_(messages.c.thread_id == thread_id, messages.c.id == thread_id), messages.c.deleted_at.is_(None)
    )
    if after_seq is not None:
        query = query.where(messages.c.seq < after_seq if newest_first else messages.c.seq > after_seq)
    order = messages.c.seq.desc() if newest_first else messages.c.seq.asc()
    rows = (await conn.execute(query.order_by(order).limit(limit))).all()
    return [_message(row) for row in rows]


async def update_message(conn: AsyncConnection, message_id: str, **values: Any) -> None:
    await conn.execute(messages.update().where(messages.c.id == message_id).values(**values))


async def update_messages(conn: AsyncConnection, updates: list[tuple[str, dict[str, Any]]]) -> None:
    """Several messages' updates (message id, column values): those setting the same columns in one statement."""
    driver = await Driver.of(conn)
    alike: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for message_id, values in updates:
        names = tuple(sorted(values))
        row = (*(driver.value(messages.c[name], values[name]) for name in names), message_id)
        alike.setdefault(names, []).append(row)
    for names, rows in alike.items():
        await driver.execute_many(_update_messages(names), rows)


@functools.cache
def _update_messages(names: tuple[str, ...]) -> str:
    """The update of these columns, written once per set of columns."""
    return f"UPDATE messages SET {', '.join(f'{name} = ?' for name in names)} WHERE id = ?"


async def mark_inbound_read(conn: AsyncConnection, chat_id: str, now: datetime) -> int:
    result = await conn.execute(
        messages.update()
        .where(messages.c.chat_id == chat_id, messages.c.is_from_me.is_(False), messages.c.read_at.is_(None))
        .values(delivery_status="read", read_at=now, updated_at=now)
    )
    return int(result.rowcount)


async def handles_that_messaged(conn: AsyncConnection, partner_id: str, handles: list[str]) -> set[str]:
    """Which of ``handles`` ever sent the partner a message (found through their chats, by index)."""
    query = (
        sa.select(messages.c.sender_handle)
        .distinct()
        .join(chat_participants, chat_participants.c.chat_id == messages.c.chat_id)
        .where(
            chat_participants.c.handle.in_(handles),
            messages.c.sender_handle == chat_participants.c.handle,
            messages.c.is_from_me.is_(False),
            messages.c.partner_id == partner_id,
        )
    )
    return set((await conn.execute(query)).scalars())


async def last_messages(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, MessageRow]:
    """Each chat's newest visible message (chats without one are left out): one lookup per chat on (chat_id, seq)."""
    if not chat_ids:
        return {}
    newest = (
        sa.select(messages.c.chat_id, sa.func.max(messages.c.seq).label("seq"))
        .where(messages.c.chat_id.in_(chat_ids), messages.c.deleted_at.is_(None))
        .group_by(messages.c.chat_id)
        .subquery()
    )
    query = sa.select(*_MESSAGE_COLUMNS).join(
        newest, sa.and_(messages.c.chat_id == newest.c.chat_id, messages.c.seq == newest.c.seq)
    )
    return {row.chat_id: _message(row) for row in await conn.execute(query)}


async def messages_in(conn: AsyncConnection, chat_id: str, ids: list[str]) -> dict[str, MessageRow]:
    """Some messages of one chat by id (deleted ones too: a reply may quote one)."""
    if not ids:
        return {}
    query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.chat_id == chat_id, messages.c.id.in_(ids))
    return {row.id: _message(row) for row in await conn.execute(query)}
