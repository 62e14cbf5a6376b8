"""The per-pair send logs on the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from linq_server.store import send_windows
from linq_server.store.database import Database
from linq_server.store.schema import send_windows as table

NOW = datetime(2026, 11, 29, 12, 0, 0, 123000, tzinfo=UTC)


def pair() -> tuple[str, str]:
    return "+1202555" + uuid.uuid4().hex[:4], f"{uuid.uuid4().hex[:8]}@example.com"


async def test_a_new_pair_starts_empty_and_keeps_its_sends_to_the_millisecond(db: Database) -> None:
    line, recipient = pair()
    moments = [NOW, NOW + timedelta(seconds=1, microseconds=250_999)]
    async with db.write() as conn:
        assert await send_windows.lock_windows(db, conn, [(line, recipient)]) == {(line, recipient): []}
        await send_windows.save_windows(conn, {(line, recipient): moments})
    async with db.write() as conn:
        logs = await send_windows.lock_windows(db, conn, [(line, recipient), (line, recipient)])
    assert logs == {(line, recipient): [NOW, NOW + timedelta(seconds=1, microseconds=250_000)]}


async def test_a_log_written_as_iso_times_before_the_upgrade_still_counts(db: Database) -> None:
    line, recipient = pair()
    async with db.write() as conn:
        await conn.execute(table.insert(), [{"line_number": line, "recipient": recipient, "recent": [NOW.isoformat()]}])
    async with db.write() as conn:
        logs = await send_windows.lock_windows(db, conn, [(line, recipient)])
        assert logs == {(line, recipient): [NOW]}
        await send_windows.save_windows(conn, {(line, recipient): [*logs[(line, recipient)], NOW]})
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(table.c.recent).where(table.c.line_number == line))).scalar_one()
    assert stored == [int(NOW.timestamp() * 1000)] * 2
