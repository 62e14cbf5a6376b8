"""Readiness: can this server carry out what it accepts right now?"""

from __future__ import annotations

import asyncio
import time

from linq_server.jobs.worker import SILENT_SECONDS
from linq_server.store import jobs as job_store
from linq_server.store.database import Database


async def unready_reasons(db: Database, own_worker: asyncio.Task[None] | None) -> list[str]:
    """Why a 202 would not be carried out now; empty when it would.

    The job worker may run in this process or in another (``serve --no-worker`` beside ``linq-server
    worker``): any worker that checked in within ``SILENT_SECONDS`` serves the queue.
    """
    if own_worker is not None and own_worker.done():
        return ["this process's job worker has stopped"]
    if not await db.ping():
        return ["the database does not answer"]
    try:
        async with db.read() as conn:
            seen_at = await job_store.last_check_in(conn)
    except Exception as error:
        return [f"the database does not answer ({type(error).__name__})"]
    if seen_at is None:
        return ["no job worker has checked in"]
    silent_for = time.time() - seen_at
    if silent_for > SILENT_SECONDS:
        return [f"no job worker has checked in for {silent_for:.0f} s"]
    return []
