"""Sandbox settings of a partner's own line: what ``check_rcs`` meets on it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import sandbox_lines


async def rcs_of(conn: AsyncConnection, line_id: str) -> str | None:
    query = sa.select(sandbox_lines.c.rcs).where(sandbox_lines.c.line_id == line_id)
    value: str | None = (await conn.execute(query)).scalar_one_or_none()
    return value


async def rcs_of_lines(conn: AsyncConnection, line_ids: list[str]) -> dict[str, str]:
    query = sa.select(sandbox_lines.c.line_id, sandbox_lines.c.rcs).where(sandbox_lines.c.line_id.in_(line_ids))
    return {row.line_id: row.rcs for row in await conn.execute(query)}


async def put_rcs(db: Database, conn: AsyncConnection, line_id: str, rcs: str, now: datetime) -> None:
    await conn.execute(db.upsert(sandbox_lines, {"line_id": line_id, "rcs": rcs, "updated_at": now}, ["line_id"]))
