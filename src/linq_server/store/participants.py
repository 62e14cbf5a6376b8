"""Chat participants: who is (or was) in a chat, and their status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.driver import Driver
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


async def insert_participants(conn: AsyncConnection, participants: list[Participant]) -> None:
    driver = await Driver.of(conn)
    await driver.execute_many(
        "INSERT INTO chat_participants (" + ", ".join(Participant.__slots__) + ") VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(p.id, p.chat_id, p.handle, p.is_me, str(p.status), driver.time(p.joined_at), driver.time(p.left_at))
         for p in participants],
    )  # fmt: skip


async def participants_of(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Participant]]:
    found: dict[str, list[Participant]] = {chat_id: [] for chat_id in chat_ids}
    if not chat_ids:
        return found
    driver = await Driver.of(conn)
    sql = _PARTICIPANTS_OF.format(chats=driver.in_list("chat_id"))
    for id_, chat_id, handle, is_me, status, joined_at, left_at in await driver.fetch(sql, (driver.ids(chat_ids),)):
        found[chat_id].append(
            Participant(id_, chat_id, handle, bool(is_me), ParticipantStatus(status), driver.read_time(joined_at),
                        driver.read_time_or_none(left_at))
        )  # fmt: skip
    return found


_PARTICIPANTS_OF = (
    "SELECT " + ", ".join(Participant.__slots__) + " FROM chat_participants WHERE {chats}"
    " ORDER BY chat_id, is_me DESC, joined_at, handle"
)


async def update_participants(conn: AsyncConnection, participants: list[Participant]) -> None:
    """Write back participants' status and dates (a rejoin, a removal, a departure), in one statement."""
    if not participants:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        "UPDATE chat_participants SET status = ?, joined_at = ?, left_at = ? WHERE id = ?",
        [(str(p.status), driver.time(p.joined_at), driver.time(p.left_at), p.id) for p in participants],
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
