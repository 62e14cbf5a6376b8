"""Wait for the job queue to settle, so a test counts what arrived only once nothing more can arrive."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from linq_server.store.database import Database

# Plain SQL on the table, so this survives refactors of the store module.
_UNFINISHED = sa.text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")


async def unfinished_jobs(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.read() as conn:
            return int((await conn.execute(_UNFINISHED)).scalar_one())
    finally:
        await db.close()


async def settled_async(database_url: str, within_seconds: float = 30.0) -> None:
    """Return once no job is queued or running (every accepted change applied, every delivery made)."""
    deadline = time.monotonic() + within_seconds
    while (left := await unfinished_jobs(database_url)) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} jobs still queued or running after {within_seconds} s")
        await asyncio.sleep(0.02)


def settled(database_url: str, within_seconds: float = 30.0) -> None:
    asyncio.run(settled_async(database_url, within_seconds))
