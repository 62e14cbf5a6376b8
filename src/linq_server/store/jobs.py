"""The jobs table: enqueue in the caller's transaction, claim due jobs, record outcomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.driver import Driver
from linq_server.store.schema import jobs
from linq_server.vocabulary import JobStatus


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    created_at: datetime


async def insert_jobs(
    conn: AsyncConnection,
    *,
    kind: str,
    payloads: list[dict[str, Any]],
    run_at: datetime,
    max_attempts: int,
    now: datetime,
) -> list[str]:
    """Jobs of one kind, in one statement; returns their ids."""
    ids = [str(uuid.uuid4()) for _ in payloads]
    driver = await Driver.of(conn)
    run, created = driver.time(run_at), driver.time(now)
    await driver.execute_many(
        _INSERT,
        [
            (job_id, kind, driver.json(payload), run, max_attempts, created)
            for job_id, payload in zip(ids, payloads, strict=True)
        ],
    )
    return ids


_INSERT = (
    "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at)"
    f" VALUES (?, ?, ?, '{JobStatus.QUEUED.value}', ?, 0, ?, ?)"
)


async def bury_lapsed(conn: AsyncConnection, now: datetime) -> None:
    """Bury the running jobs whose lease lapsed after their last attempt (their worker kept dying on them)."""
    await conn.execute(
        jobs.update()
        .where(jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < now, jobs.c.attempts >= jobs.c.max_attempts)
        .values(
            status=JobStatus.DEAD,
            locked_until=None,
            finished_at=now,
            last_error="its worker stopped during the last attempt",
        )
    )


async def claim(conn: AsyncConnection, *, worker_id: str, limit: int, now: datetime, lease: timedelta) -> list[Job]:
    """Lease up to ``limit`` due jobs: queued ones whose time has come, and running ones whose lease lapsed
    with attempts left (``bury_lapsed`` takes care of the others)."""
    driver = await Driver.of(conn)
    at = driver.time(now)
    rows = await driver.fetch(
        _CLAIM_SQLITE if driver.sqlite else _CLAIM_POSTGRESQL, (worker_id, driver.time(now + lease), at, at, limit)
    )
    return [Job(r[0], r[1], driver.read_json(r[2]), r[3], r[4], driver.read_time(r[5])) for r in rows]


def _claim_sql(lock: str) -> str:
    return (
        f"UPDATE jobs SET status = '{JobStatus.RUNNING.value}', locked_by = ?, locked_until = ?,"
        " attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM jobs"
        f" WHERE (status = '{JobStatus.QUEUED.value}' AND run_at <= ?)"
        f" OR (status = '{JobStatus.RUNNING.value}' AND locked_until < ? AND attempts < max_attempts)"
        f" ORDER BY run_at LIMIT ?{lock})"
        " RETURNING id, kind, payload, attempts, max_attempts, created_at"
    )


# Due: queued ones whose time has come, and running ones whose lease lapsed with attempts left. PostgreSQL
# skips the rows another worker is claiming; SQLite's single writer already keeps claims apart.
_CLAIM_SQLITE = _claim_sql("")
_CLAIM_POSTGRESQL = _claim_sql(" FOR UPDATE SKIP LOCKED")


async def next_due_at(conn: AsyncConnection) -> datetime | None:
    """When the earliest queued job falls due (to sleep exactly that long when idle)."""
    result: datetime | None = (
        await conn.execute(sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.status == JobStatus.QUEUED))
    ).scalar()
    return result


def _mine(job_id: str, worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.id == job_id, jobs.c.locked_by == worker_id, jobs.c.status == JobStatus.RUNNING)


async def mark_done(conn: AsyncConnection, job_ids: list[str], worker_id: str, now: datetime) -> None:
    """Finish jobs; ``locked_by`` is kept as the record of which worker ran them."""
    driver = await Driver.of(conn)
    await driver.execute(
        _MARK_DONE.format(ids=driver.in_list("id")), (driver.time(now), driver.ids(job_ids), worker_id)
    )


_MARK_DONE = (
    f"UPDATE jobs SET status = '{JobStatus.DONE.value}', locked_until = NULL, finished_at = ?"
    f" WHERE {{ids}} AND locked_by = ? AND status = '{JobStatus.RUNNING.value}'"
)


async def mark_retry(
    conn: AsyncConnection, job_id: str, worker_id: str, *, run_at: datetime, error: str | None
) -> None:
    await conn.execute(
        jobs.update()
        .where(_mine(job_id, worker_id))
        .values(status=JobStatus.QUEUED, locked_by=None, locked_until=None, run_at=run_at, last_error=error)
    )


async def mark_dead(conn: AsyncConnection, job_id: str, worker_id: str, *, error: str, now: datetime) -> None:
    await conn.execute(
        jobs.update()
        .where(_mine(job_id, worker_id))
        .values(status=JobStatus.DEAD, locked_by=None, locked_until=None, last_error=error, finished_at=now)
    )


async def release(conn: AsyncConnection, job_ids: list[str], worker_id: str) -> None:
    """Give jobs back unfinished (graceful shutdown): claimable at once, the attempt not counted."""
    await conn.execute(
        jobs.update()
        .where(jobs.c.id.in_(job_ids), jobs.c.locked_by == worker_id, jobs.c.status == JobStatus.RUNNING)
        .values(status=JobStatus.QUEUED, locked_by=None, locked_until=None, attempts=jobs.c.attempts - 1)
    )


async def counts_by_status(conn: AsyncConnection, kind: str | None = None) -> dict[str, int]:
    query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
    if kind:
        query = query.where(jobs.c.kind == kind)
    return {status: count for status, count in await conn.execute(query)}


async def get_job(conn: AsyncConnection, job_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(jobs.select().where(jobs.c.id == job_id))).mappings().first()
    return dict(row) if row else None
