"""Rate-limit windows on the real database (SQLite, and PostgreSQL when configured): exact under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from linq_server.store import rate_windows
from linq_server.store.database import Database
from tests.conftest import make_partner

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


async def take(db: Database, partner_id: str, scope: str, now: datetime, limit: int = 3) -> datetime | None:
    async with db.write() as conn:
        return await rate_windows.take(db, conn, partner_id, scope, limit=limit, window=WINDOW, now=now)


async def test_a_window_allows_its_limit_then_says_when_it_ends(db: Database) -> None:
    partner = await make_partner(db)
    assert [await take(db, partner.id, "s", NOW + timedelta(seconds=i)) for i in range(3)] == [None, None, None]
    assert await take(db, partner.id, "s", NOW + timedelta(minutes=9)) == NOW + WINDOW
    assert await take(db, partner.id, "other scope", NOW) is None
    assert await take(db, partner.id, "s", NOW + WINDOW) is None  # a new window starts
    assert await take(db, partner.id, "s", NOW + WINDOW + timedelta(seconds=1)) is None


async def test_partners_have_their_own_windows(db: Database) -> None:
    first, second = await make_partner(db), await make_partner(db)
    assert await take(db, first.id, "s", NOW, limit=1) is None
    assert await take(db, second.id, "s", NOW, limit=1) is None
    assert await take(db, first.id, "s", NOW, limit=1) == NOW + WINDOW


async def test_concurrent_callers_never_take_more_than_the_limit(db: Database) -> None:
    partner = await make_partner(db)
    results = await asyncio.gather(*(take(db, partner.id, "busy", NOW) for _ in range(20)))
    assert results.count(None) == 3 and results.count(NOW + WINDOW) == 17
