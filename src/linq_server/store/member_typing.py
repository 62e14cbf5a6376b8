"""Members typing on their own phones (the far side): one row per (chat, handle) while it shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import member_typing


async def show(db: Database, conn: AsyncConnection, chat_id: str, handle: str, until: datetime) -> None:
    values = {"chat_id": chat_id, "handle": handle, "expires_at": until}
    await conn.execute(db.upsert(member_typing, values, ["chat_id", "handle"]))


async def clear(conn: AsyncConnection, chat_id: str, handle: str) -> None:
    query = member_typing.delete().where(member_typing.c.chat_id == chat_id, member_typing.c.handle == handle)
    await conn.execute(query)


async def lapsed(conn: AsyncConnection, chat_id: str, handle: str, now: datetime) -> bool:
    """Delete the member's indicator if it has lapsed by ``now``; True when it had (and is now gone)."""
    query = member_typing.delete().where(
        member_typing.c.chat_id == chat_id, member_typing.c.handle == handle, member_typing.c.expires_at <= now
    )
    return int((await conn.execute(query)).rowcount) > 0
