"""Chat participants: who is (or was) in a chat, and their status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import chat_participants, chats
from linq_server.vocabulary import ParticipantStatus


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    chat_id: str
    handle: str
    is_me: bool
    status: ParticipantStatus
    joined_at: datetime
    left_at: datetime | None


_PARTICIPANT_COLUMNS = [chat_participants.c[name] for name in Participant.__slots__]


def _participant(row: Any) -> Participant:
    id_, chat_id, handle, is_me, status, joined_at, left_at = row
    return Participant(id_, chat_id, handle, is_me, ParticipantStatus(status), joined_at, left_at)


async def insert_participants(conn: AsyncConnection, participants: list[Participant]) -> None:
    await conn.execute(
        chat_participants.insert(), [{name: getattr(p, name) for name in Participant.__slots__} for p in participants]
    )


async def participants_of(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Participant]]:
    found: dict[str, list[Participant]] = {chat_id: [] for chat_id in chat_ids}
    if not chat_ids:
        return found
    for row in await conn.execute(_PARTICIPANTS_OF, {"chat_ids": chat_ids}):
        found[row.chat_id].append(_participant(row))
    return found


_PARTICIPANTS_OF = (
    sa.select(*_PARTICIPANT_COLUMNS)
    .where(chat_participants.c.chat_id.in_(sa.bindparam("chat_ids", expanding=True)))
    .order_by(chat_participants.c.chat_id, chat_participants.c.is_me.desc(), chat_participants.c.joined_at,
              chat_participants.c.handle)
)  # fmt: skip


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


async def handles_met(conn: AsyncConnection, partner_id: str) -> list[str]:
    """Every handle (not the partner's own lines) that is or was in one of the partner's chats, sorted."""
    query = (
        sa.select(chat_participants.c.handle)
        .join(chats, chats.c.id == chat_participants.c.chat_id)
        .where(chats.c.partner_id == partner_id, chat_participants.c.is_me.is_(False))
        .distinct()
    )
    return sorted(row.handle for row in await conn.execute(query))
