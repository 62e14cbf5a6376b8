"""Device behaviour of sandbox handles (columns of ``sandbox_handles``): latency, reading, offline, replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import sandbox_handles


async def put_device(
    db: Database,
    conn: AsyncConnection,
    partner_id: str,
    handle: str,
    *,
    services: list[str],
    delivery_ms: int | None,
    auto_read_ms: int | None,
    offline: bool,
    replies: list[dict[str, object]] | None,
    now: datetime,
) -> None:
    """Set the device columns; a handle without an override gets one with its current services."""
    device = {
        "delivery_ms": delivery_ms, "auto_read_ms": auto_read_ms, "offline": offline, "replies": replies,
        "updated_at": now,
    }  # fmt: skip
    values = {"partner_id": partner_id, "handle": handle, "services": services, "failing_operations": [], **device}
    await conn.execute(db.upsert(sandbox_handles, values, ["partner_id", "handle"], update=list(device)))
