"""Sandbox handle overrides: what a simulated handle can receive, and which operations fail for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.driver import Driver
from linq_server.store.schema import sandbox_handles


async def handle_override(conn: AsyncConnection, partner_id: str, handle: str) -> dict[str, Any] | None:
    query = sandbox_handles.select().where(
        sandbox_handles.c.partner_id == partner_id, sandbox_handles.c.handle == handle
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def handle_overrides(conn: AsyncConnection, partner_id: str, handles: list[str]) -> dict[str, dict[str, Any]]:
    """The overrides of these handles, by handle (read for every batch of adds, sends and deliveries: on the driver)."""
    if not handles:
        return {}
    driver = await Driver.of(conn)
    sql = f"{_SELECT_OVERRIDES} WHERE partner_id = ? AND {driver.in_list('handle')}"
    found: dict[str, dict[str, Any]] = {}
    for (
        partner,
        handle,
        services,
        failing,
        delivery_ms,
        auto_read_ms,
        offline,
        replies,
        updated_at,
    ) in await driver.fetch(sql, (partner_id, driver.ids(handles))):
        found[handle] = {
            "partner_id": partner, "handle": handle, "services": driver.read_json(services),
            "failing_operations": driver.read_json(failing), "delivery_ms": delivery_ms, "auto_read_ms": auto_read_ms,
            "offline": bool(offline), "replies": driver.read_json(replies), "updated_at": driver.read_time(updated_at),
        }  # fmt: skip
    return found


_SELECT_OVERRIDES = (
    "SELECT partner_id, handle, services, failing_operations, delivery_ms, auto_read_ms, offline, replies, updated_at"
    " FROM sandbox_handles"
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
