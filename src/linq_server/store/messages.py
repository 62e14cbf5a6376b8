"""Messages: the row and its queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import messages
from linq_server.vocabulary import MessageStatus


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


async def insert_message(conn: AsyncConnection, message: MessageRow) -> None:
    await conn.execute(messages.insert().values(**{name: getattr(message, name) for name in MessageRow.__slots__}))


async def mark_inbound_read(conn: AsyncConnection, chat_id: str, now: datetime) -> int:
    result = await conn.execute(
        messages.update()
        .where(messages.c.chat_id == chat_id, messages.c.is_from_me.is_(False), messages.c.read_at.is_(None))
        .values(delivery_status=MessageStatus.READ, read_at=now)
    )
    return int(result.rowcount)
