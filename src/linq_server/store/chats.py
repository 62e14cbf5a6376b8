"""Chats: the row, and the queries that find, page, insert and update chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.driver import Driver
from linq_server.store.schema import chat_participants, chats, messages, opt_outs, phone_numbers


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: str
    partner_id: str
    line_id: str
    line_number: str
    line_type: str
    is_group: bool
    service: str
    recipient_key: str
    reusable: bool
    custom_name: str | None
    group_chat_icon: str | None
    left_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Read with the chat, not stored on it: its line's status and when an opt-out arrived in it.
    line_status: str
    opted_out_at: datetime | None


_READ_WITH = {
    "line_type": phone_numbers.c.line_type,
    "line_status": phone_numbers.c.status,
    # A subquery, not a join: a chat stays one row whatever the opt-outs table holds.
    "opted_out_at": sa.select(sa.func.max(opt_outs.c.opted_out_at))
    .where(opt_outs.c.chat_id == chats.c.id)
    .scalar_subquery()
    .label("opted_out_at"),
}
# Columns selected in the order of the dataclass fields, so rows become dataclasses positionally (fast).
_CHAT_COLUMNS = [_READ_WITH[name] if name in _READ_WITH else chats.c[name] for name in ChatRow.__slots__]


def _chat(row: Any) -> ChatRow:
    return ChatRow(*row)


def _chat_query() -> sa.Select[Any]:
    return sa.select(*_CHAT_COLUMNS).join(phone_numbers, phone_numbers.c.id == chats.c.line_id)


async def insert_chat(conn: AsyncConnection, chat: ChatRow) -> bool:
    """Insert; False when a reusable chat for the same line and recipients appeared meanwhile."""
    values = {name: getattr(chat, name) for name in ChatRow.__slots__ if name not in _READ_WITH}
    try:
        async with conn.begin_nested():
            await conn.execute(chats.insert().values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


async def chat_of(
    db: Database, conn: AsyncConnection, partner_id: str, chat_id: str, *, lock: bool = False
) -> ChatRow | None:
    """The partner's chat; ``lock`` holds its row until commit, so changes to one chat serialise."""
    query = _chat_query().where(chats.c.id == chat_id, chats.c.partner_id == partner_id)
    row = (await conn.execute(db.for_update(query, of=chats) if lock else query)).first()
    return _chat(row) if row else None


async def chats_by_ids(conn: AsyncConnection, chat_ids: list[str], *, lock: bool) -> dict[str, ChatRow]:
    """Several chats at once; locked in id order (PostgreSQL), so concurrent batches cannot deadlock."""
    driver = await Driver.of(conn)
    sql = _CHATS.format(ids=driver.in_list("chats.id"), lock=driver.for_update(lock, of="chats"))
    found: dict[str, ChatRow] = {}
    for row in await driver.fetch(sql, (driver.ids(chat_ids),)):
        (id_, partner_id, line_id, line_number, line_type, is_group, service, recipient_key, reusable, custom_name,
         icon, left_at, created_at, updated_at, line_status, opted_out_at) = row  # fmt: skip
        found[id_] = ChatRow(
            id_, partner_id, line_id, line_number, line_type, bool(is_group), service, recipient_key, bool(reusable),
            custom_name, icon, driver.read_time_or_none(left_at), driver.read_time(created_at),
            driver.read_time(updated_at), line_status, driver.read_time_or_none(opted_out_at),
        )  # fmt: skip
    return found


_CHATS = (
    "SELECT chats.id, chats.partner_id, chats.line_id, chats.line_number, phone_numbers.line_type, chats.is_group,"
    " chats.service, chats.recipient_key, chats.reusable, chats.custom_name, chats.group_chat_icon, chats.left_at,"
    " chats.created_at, chats.updated_at, phone_numbers.status,"
    " (SELECT max(opt_outs.opted_out_at) FROM opt_outs WHERE opt_outs.chat_id = chats.id)"
    " FROM chats JOIN phone_numbers ON phone_numbers.id = chats.line_id"
    " WHERE {ids} ORDER BY chats.id{lock}"
)


async def reusable_chat(conn: AsyncConnection, partner_id: str, line_number: str, recipient_key: str) -> ChatRow | None:
    query = _chat_query().where(
        chats.c.partner_id == partner_id,
        chats.c.line_number == line_number,
        chats.c.recipient_key == recipient_key,
        chats.c.reusable.is_(True),
    )
    row = (await conn.execute(query)).first()
    return _chat(row) if row else None


async def reusable_chats_with(conn: AsyncConnection, partner_id: str, recipient_key: str) -> list[ChatRow]:
    """The partner's reusable chats with exactly these recipients, on any line, most recently active first."""
    last_message = (
        sa.select(sa.func.max(messages.c.created_at)).where(messages.c.chat_id == chats.c.id).scalar_subquery()
    )
    query = (
        _chat_query()
        .where(chats.c.partner_id == partner_id, chats.c.recipient_key == recipient_key, chats.c.reusable.is_(True))
        .order_by(last_message.desc(), chats.c.created_at.desc())
    )
    return [_chat(row) for row in await conn.execute(query)]


async def page_of_chats(
    conn: AsyncConnection,
    partner_id: str,
    *,
    line_number: str | None,
    participant: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[ChatRow]:
    """Newest first, keyset-paginated on (created_at, id) so a page costs the same however many chats exist."""
    query = _chat_query().where(chats.c.partner_id == partner_id)
    if line_number:
        query = query.where(chats.c.line_number == line_number)
    if participant:
        members = sa.select(chat_participants.c.chat_id).where(chat_participants.c.handle == participant)
        query = query.where(chats.c.id.in_(members))
    if after:
        query = query.where(sa.tuple_(chats.c.created_at, chats.c.id) < sa.tuple_(*after))
    query = query.order_by(chats.c.created_at.desc(), chats.c.id.desc()).limit(limit)
    return [_chat(row) for row in await conn.execute(query)]


async def update_chat(conn: AsyncConnection, chat_id: str, **values: Any) -> None:
    await conn.execute(chats.update().where(chats.c.id == chat_id).values(**values))


async def membership_changed(conn: AsyncConnection, chat_ids: list[str], now: datetime) -> None:
    """Chats whose members changed are never reused for a new ``POST /v3/chats``."""
    if chat_ids:
        await conn.execute(_NOT_REUSABLE, {"ids": chat_ids, "now": now})


_NOT_REUSABLE = (
    chats.update()
    .where(chats.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(reusable=False, updated_at=sa.bindparam("now"))
)
