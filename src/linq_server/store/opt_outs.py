"""Handles that opted out of a partner's messages (an opt-out keyword in a direct chat)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import opt_outs


async def opted_out(conn: AsyncConnection, partner_id: str, handles: list[str]) -> set[str]:
    return set((await conn.execute(_OPTED_OUT, {"partner_id": partner_id, "handles": handles})).scalars())


_OPTED_OUT = sa.select(opt_outs.c.handle).where(
    opt_outs.c.partner_id == sa.bindparam("partner_id"), opt_outs.c.handle.in_(sa.bindparam("handles", expanding=True))
)


async def opt_out(
    db: Database, conn: AsyncConnection, partner_id: str, handle: str, chat_id: str, at: datetime
) -> None:
    values = {"partner_id": partner_id, "handle": handle, "chat_id": chat_id, "opted_out_at": at}
    await conn.execute(db.upsert(opt_outs, values, ["partner_id", "handle"]))


async def opt_in(conn: AsyncConnection, partner_id: str, handle: str) -> None:
    await conn.execute(opt_outs.delete().where(opt_outs.c.partner_id == partner_id, opt_outs.c.handle == handle))
