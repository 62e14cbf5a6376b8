"""Sandbox handle overrides: what a simulated handle can receive, and which operations fail for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import sandbox_handles


async def handle_override(conn: AsyncConnection, partner_id: str, handle: str) -> dict[str, Any] | None:
    query = sandbox_handles.select().where(
        sandbox_handles.c.partner_id == partner_id, sandbox_handles.c.handle == handle
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def handle_overrides(conn: AsyncConnection, partner_id: str, handles: list[str]) -> dict[str, dict[str, Any]]:
    found = await conn.execute(_HANDLE_OVERRIDES, {"partner_id": partner_id, "handles": handles})
    return {row["handle"]: dict(row) for row in found.mappings()}


_HANDLE_OVERRIDES = sandbox_handles.select().where(
    sandbox_handles.c.partner_id == sa.bindparam("partner_id"),
    sandbox_handles.c.handle.in_(sa.bindparam("handles", expanding=True)),
)


async def overridden_handles(conn: AsyncConnection, partner_id: str) -> list[str]:
    query = sa.select(sandbox_handles.c.handle).where(sandbox_handles.c.partner_id == partner_id)
    return sorted(row.handle for row in await conn.execute(query))


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
