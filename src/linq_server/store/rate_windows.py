"""Fixed rate-limit windows, one row per (partner, scope), counted atomically on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import Timestamp, rate_limits


async def take(
    db: Database, conn: AsyncConnection, partner_id: str, scope: str, *, limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """Count one call in the scope's window; None if it is allowed, else when the full window ends.

    One statement: insert the window, or restart it once it has ended, or add to it while under ``limit``.
    Concurrent callers (any process, either database) cannot both take the last call.
    """
    ended = rate_limits.c.window_started_at <= now - window
    statement = db.upsert(
        rate_limits,
        {"partner_id": partner_id, "scope": scope, "window_started_at": now, "calls": 1},
        ["partner_id", "scope"],
        changes={
            "window_started_at": sa.case((ended, sa.literal(now, Timestamp())), else_=rate_limits.c.window_started_at),
            "calls": sa.case((ended, 1), else_=rate_limits.c.calls + 1),
        },
        where=sa.or_(ended, rate_limits.c.calls < limit),
    )
    if (await conn.execute(statement)).rowcount == 1:
        return None
    query = sa.select(rate_limits.c.window_started_at).where(
        rate_limits.c.partner_id == partner_id, rate_limits.c.scope == scope
    )
    started: datetime = (await conn.execute(query)).scalar_one()
    return started + window
