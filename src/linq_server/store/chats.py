"""Chats, their participants, queued chat changes, messages, and sandbox handle overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import chat_changes, chat_participants, chats, messages, phone_numbers, sandbox_handles
from linq_server.vocabulary import ChangeKind, ChangeStatus, MessageStatus, ParticipantStatus


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


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    chat_id: str
    handle: str
    is_me: bool
    status: ParticipantStatus
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    chat_id: str
    kind: ChangeKind
    value: str | None
    status: ChangeStatus
    error: str | None
    trace_id: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: str
    chat_id: str
    is_from_me: bool
    sender_handle: str
    parts: list[dict[str, Any]]
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    service: str
    preferred_service: str | None
    delivery_status: MessageStatus
    trace_id: str
    created_at: datetime


# Columns selected in the order of the dataclass fields, so rows become dataclasses positionally (fast).
_CHAT_COLUMNS = [phone_numbers.c.line_type if name == "line_type" else chats.c[name] for name in ChatRow.__slots__]
_PARTICIPANT_COLUMNS = [chat_participants.c[name] for name in Participant.__slots__]
_CHANGE_COLUMNS = [chat_changes.c[name] for name in Change.__slots__]


def _chat(row: Any) -> ChatRow:
    return ChatRow(*row)


def _participant(row: Any) -> Participant:
    id_, chat_id, handle, is_me, status, joined_at, left_at = row
    return Participant(id_, chat_id, handle, is_me, ParticipantStatus(status), joined_at, left_at)


def _change(row: Any) -> Change:
    id_, chat_id, kind, value, status, error, trace_id, requested_at = row
    return Change(id_, chat_id, ChangeKind(kind), value, ChangeStatus(status), error, trace_id, requested_at)


def _chat_query() -> sa.Select[Any]:
    return sa.select(*_CHAT_COLUMNS).join(phone_numbers, phone_numbers.c.id == chats.c.line_id)


async def insert_chat(conn: AsyncConnection, chat: ChatRow) -> bool:
    """Insert; False when a reusable chat for the same line and recipients appeared meanwhile."""
    values = {name: getattr(chat, name) for name in ChatRow.__slots__ if name != "line_type"}
    try:
        async with conn.begin_nested():
            await conn.execute(chats.insert().values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


async def insert_participants(conn: AsyncConnection, participants: list[Participant]) -> None:
    await conn.execute(
        chat_participants.insert(), [{name: getattr(p, name) for name in Participant.__slots__} for p in participants]
    )


async def chat_of(
    db: Database, conn: AsyncConnection, partner_id: str, chat_id: str, *, lock: bool = False
) -> ChatRow | None:
    """The partner's chat; ``lock`` holds its row until commit, so changes to one chat serialise."""
    query = _chat_query().where(chats.c.id == chat_id, chats.c.partner_id == partner_id)
    row = (await conn.execute(db.for_update(query, of=chats) if lock else query)).first()
    return _chat(row) if row else None


async def chats_by_ids(db: Database, conn: AsyncConnection, chat_ids: list[str], *, lock: bool) -> dict[str, ChatRow]:
    """Several chats at once; locked in id order (PostgreSQL), so concurrent batches cannot deadlock."""
    query = _chat_query().where(chats.c.id.in_(chat_ids)).order_by(chats.c.id)
    rows = await conn.execute(db.for_update(query, of=chats) if lock else query)
    return {row.id: _chat(row) for row in rows}


async def reusable_chat(conn: AsyncConnection, partner_id: str, line_number: str, recipient_key: str) -> ChatRow | None:
    query = _chat_query().where(
        chats.c.partner_id == partner_id,
        chats.c.line_number == line_number,
        chats.c.recipient_key == recipient_key,
        chats.c.reusable.is_(True),
    )
    row = (await conn.execute(query)).first()
    return _chat(row) if row else None


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


async def participants_of(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Participant]]:
    found: dict[str, list[Participant]] = {chat_id: [] for chat_id in chat_ids}
    if not chat_ids:
        return found
    query = (
        sa.select(*_PARTICIPANT_COLUMNS)
        .where(chat_participants.c.chat_id.in_(chat_ids))
        .order_by(chat_participants.c.chat_id, chat_participants.c.is_me.desc(), chat_participants.c.joined_at,
                  chat_participants.c.handle)
    )  # fmt: skip
    for row in await conn.execute(query):
        found[row.chat_id].append(_participant(row))
    return found


async def update_chat(conn: AsyncConnection, chat_id: str, **values: Any) -> None:
    await conn.execute(chats.update().where(chats.c.id == chat_id).values(**values))


async def update_participants(conn: AsyncConnection, participants: list[Participant]) -> None:
    """Write back participants' status and dates (a rejoin, a removal, a departure), in one statement."""
    if not participants:
        return
    await conn.execute(
        chat_participants.update()
        .where(chat_participants.c.id == sa.bindparam("participant_id"))
        .values(status=sa.bindparam("new_status"), joined_at=sa.bindparam("joined"), left_at=sa.bindparam("left")),
        [
            {"participant_id": p.id, "new_status": p.status, "joined": p.joined_at, "left": p.left_at}
            for p in participants
        ],
    )


async def membership_changed(conn: AsyncConnection, chat_ids: list[str], now: datetime) -> None:
    """Chats whose members changed are never reused for a new ``POST /v3/chats``."""
    if chat_ids:
        await conn.execute(chats.update().where(chats.c.id.in_(chat_ids)).values(reusable=False, updated_at=now))


async def insert_changes(conn: AsyncConnection, changes: list[Change]) -> None:
    if changes:
        await conn.execute(
            chat_changes.insert(), [{name: getattr(c, name) for name in Change.__slots__} for c in changes]
        )


async def queued_changes(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Change]]:
    found: dict[str, list[Change]] = {chat_id: [] for chat_id in chat_ids}
    query = sa.select(*_CHANGE_COLUMNS).where(
        chat_changes.c.chat_id.in_(chat_ids), chat_changes.c.status == ChangeStatus.QUEUED
    )
    for row in await conn.execute(query.order_by(chat_changes.c.requested_at)):
        found[row.chat_id].append(_change(row))
    return found


async def changes_by_ids(db: Database, conn: AsyncConnection, change_ids: list[str], *, lock: bool) -> list[Change]:
    """Changes in the order they were requested; ``lock`` keeps another worker off them until commit."""
    query = sa.select(*_CHANGE_COLUMNS).where(chat_changes.c.id.in_(change_ids)).order_by(chat_changes.c.requested_at)
    rows = await conn.execute(db.for_update(query) if lock else query)
    return [_change(row) for row in rows]


async def finish_changes(
    conn: AsyncConnection, outcomes: list[tuple[str, ChangeStatus, str | None]], now: datetime
) -> None:
    """Settle changes: (change id, applied | failed, error)."""
    if not outcomes:
        return
    await conn.execute(
        chat_changes.update()
        .where(chat_changes.c.id == sa.bindparam("change_id"))
        .values(status=sa.bindparam("outcome"), error=sa.bindparam("reason"), finished_at=now),
        [{"change_id": change_id, "outcome": status, "reason": error} for change_id, status, error in outcomes],
    )


async def insert_message(conn: AsyncConnection, message: MessageRow) -> None:
    await conn.execute(messages.insert().values(**{name: getattr(message, name) for name in MessageRow.__slots__}))


async def mark_inbound_read(conn: AsyncConnection, chat_id: str, now: datetime) -> int:
    result = await conn.execute(
        messages.update()
        .where(messages.c.chat_id == chat_id, messages.c.is_from_me.is_(False), messages.c.read_at.is_(None))
        .values(delivery_status=MessageStatus.READ, read_at=now)
    )
    return int(result.rowcount)


async def handle_override(conn: AsyncConnection, partner_id: str, handle: str) -> dict[str, Any] | None:
    query = sandbox_handles.select().where(
        sandbox_handles.c.partner_id == partner_id, sandbox_handles.c.handle == handle
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def handle_overrides(conn: AsyncConnection, partner_id: str, handles: list[str]) -> dict[str, dict[str, Any]]:
    query = sandbox_handles.select().where(
        sandbox_handles.c.partner_id == partner_id, sandbox_handles.c.handle.in_(handles)
    )
    return {row["handle"]: dict(row) for row in (await conn.execute(query)).mappings()}


async def put_handle_override(
    db: Database,
    conn: AsyncConnection,
    partner_id: str,
    handle: str,
    services: list[str],
    failing: list[str],
    now: datetime,
) -> None:
    values = {
        "partner_id": partner_id, "handle": handle, "services": services, "failing_operations": failing,
        "updated_at": now,
    }  # fmt: skip
    await conn.execute(db.upsert(sandbox_handles, values, ["partner_id", "handle"]))
