"""Our line's typing indicator, one row per chat while it shows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import typing_indicators


async def show(db: Database, conn: AsyncConnection, chat_id: str, now: datetime, until: datetime) -> None:
    values = {"chat_id": chat_id, "started_at": now, "expires_at": until}
    await conn.execute(db.upsert(typing_indicators, values, ["chat_id"]))


async def clear(conn: AsyncConnection, chat_ids: list[str]) -> None:
    await conn.execute(_CLEAR, {"chat_ids": chat_ids})


_CLEAR = typing_indicators.delete().where(typing_indicators.c.chat_id.in_(sa.bindparam("chat_ids", expanding=True)))


async def showing_until(conn: AsyncConnection, chat_id: str, now: datetime) -> datetime | None:
    """When the indicator lapses, if it shows at ``now``."""
    query = sa.select(typing_indicators.c.expires_at).where(
        typing_indicators.c.chat_id == chat_id, typing_indicators.c.expires_at > now
    )
    until: datetime | None = (await conn.execute(query)).scalar_one_or_none()
    return until
