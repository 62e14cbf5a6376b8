"""The partner's blocklist: handles it sends nothing to directly and hears nothing from."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import blocked_handles


async def blocked(conn: AsyncConnection, partner_id: str, handles: list[str]) -> set[str]:
    """Which of ``handles`` the partner blocked."""
    return set((await conn.execute(_BLOCKED, {"partner_id": partner_id, "handles": handles})).scalars())


_BLOCKED = sa.select(blocked_handles.c.handle).where(
    blocked_handles.c.partner_id == sa.bindparam("partner_id"),
    blocked_handles.c.handle.in_(sa.bindparam("handles", expanding=True)),
)


async def block(db: Database, conn: AsyncConnection, partner_id: str, handle: str, at: datetime) -> None:
    """Block ``handle``; blocking it again keeps the first entry."""
    values = {"partner_id": partner_id, "handle": handle, "reason": None, "blocked_at": at}
    await conn.execute(db.insert_or_ignore(blocked_handles, ["partner_id", "handle"]), [values])


async def unblock(conn: AsyncConnection, partner_id: str, handle: str) -> None:
    await conn.execute(
        blocked_handles.delete().where(blocked_handles.c.partner_id == partner_id, blocked_handles.c.handle == handle)
    )
