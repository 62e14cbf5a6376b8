"""The jobs table: enqueue in the caller's transaction, claim due jobs, record outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.driver import Driver
from linq_server.store.schema import job_workers, jobs
from linq_server.vocabulary import JobStatus


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    created_at: datetime
    lane: str | None = None


async def insert_jobs(
    conn: AsyncConnection,
    *,
    kind: str,
    payloads: list[dict[str, Any]],
    run_at: datetime,
    max_attempts: int,
    now: datetime,
    lane_key: str | None = None,
) -> list[str]:
    """Jobs of one kind, in one statement; returns their ids. ``lane_key`` names the payload field whose
    value is a job's lane (jobs of one lane run one batch at a time)."""
    ids = [str(uuid.uuid4()) for _ in payloads]
    driver = await Driver.of(conn)
    run, created = driver.time(run_at), driver.time(now)
    await driver.execute_many(
        _INSERT,
        [
            (job_id, kind, driver.json(payload), run, max_attempts, created, payload[lane_key] if lane_key else None)
            for job_id, payload in zip(ids, payloads, strict=True)
        ],
    )
    return ids


_INSERT = (
    "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at, lane)"
    f" VALUES (?, ?, ?, '{JobStatus.QUEUED.value}', ?, 0, ?, ?, ?)"
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


async def claim(
    conn: AsyncConnection,
    *,
    worker_id: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    busy_lanes: Sequence[str] = (),
) -> list[Job]:
    """Lease up to ``limit`` due jobs outside ``busy_lanes``: queued ones whose time has come, and running ones
    whose lease lapsed with attempts left (``bury_lapsed`` takes care of the others)."""
    driver = await Driver.of(conn)
    at = driver.time(now)
    rows = await driver.fetch(
        _CLAIM_SQLITE if driver.sqlite else _CLAIM_POSTGRESQL,
        (worker_id, driver.time(now + lease), at, at, driver.ids(busy_lanes), limit),
    )
    return [Job(r[0], r[1], driver.read_json(r[2]), r[3], r[4], driver.read_time(r[5]), r[6]) for r in rows]


def _claim_sql(lock: str, busy: str) -> str:
    return (
        f"UPDATE jobs SET status = '{JobStatus.RUNNING.value}', locked_by = ?, locked_until = ?,"
        " attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM jobs"
        f" WHERE ((status = '{JobStatus.QUEUED.value}' AND run_at <= ?)"
        f" OR (status = '{JobStatus.RUNNING.value}' AND locked_until < ? AND attempts < max_attempts))"
        f" AND (lane IS NULL OR NOT ({busy}))"
        f" ORDER BY run_at LIMIT ?{lock})"
        " RETURNING id, kind, payload, attempts, max_attempts, created_at, lane"
    )


# Due: queued ones whose time has come, and running ones whose lease lapsed with attempts left. PostgreSQL
# skips the rows another worker is claiming; SQLite's single writer already keeps claims apart.
_CLAIM_SQLITE = _claim_sql("", Driver.in_list_of(sqlite=True, column="lane"))
_CLAIM_POSTGRESQL = _claim_sql(" FOR UPDATE SKIP LOCKED", Driver.in_list_of(sqlite=False, column="lane"))


async def next_due_at(conn: AsyncConnection, busy_lanes: Sequence[str] = ()) -> datetime | None:
    """When the earliest queued job outside ``busy_lanes`` falls due (to sleep exactly that long when idle)."""
    query = sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.status == JobStatus.QUEUED)
    if busy_lanes:
        query = query.where(sa.or_(jobs.c.lane.is_(None), jobs.c.lane.not_in(list(busy_lanes))))
    result: datetime | None = (await conn.execute(query)).scalar()
    return result


async def check_in(conn: AsyncConnection, worker_id: str, *, started_at: float, at: float) -> None:
    """Record that ``worker_id`` is alive at ``at`` (wall-clock seconds)."""
    updated = await conn.execute(job_workers.update().where(job_workers.c.id == worker_id).values(seen_at=at))
    if updated.rowcount == 0:
        await conn.execute(job_workers.insert().values(id=worker_id, started_at=started_at, seen_at=at))


async def check_out(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(job_workers.delete().where(job_workers.c.id == worker_id))


async def last_check_in(conn: AsyncConnection) -> float | None:
    """The freshest check-in of any job worker (wall-clock seconds), None when none ever checked in."""
    result: float | None = (await conn.execute(sa.select(sa.func.max(job_workers.c.seen_at)))).scalar()
    return result


async def reclaim_from_silent(conn: AsyncConnection, *, silent_since: float, now: datetime) -> int:
    """Make the jobs held by workers that have not checked in since ``silent_since`` claimable now (their lease
    lapsed), and forget those workers. Returns how many jobs were freed."""
    live = sa.select(job_workers.c.id).where(job_workers.c.seen_at >= silent_since)
    freed = await conn.execute(
        jobs.update()
        .where(jobs.c.status == JobStatus.RUNNING, jobs.c.locked_by.not_in(live))
        .values(locked_until=now - timedelta(seconds=1))
    )
    await conn.execute(job_workers.delete().where(job_workers.c.seen_at < silent_since))
    return int(freed.rowcount or 0)


async def held_by(conn: AsyncConnection, job_ids: Sequence[str], worker_id: str) -> int:
    """How many of ``job_ids`` are still running under ``worker_id`` (their outcome not yet recorded)."""
    query = sa.select(sa.func.count()).where(
        jobs.c.id.in_(list(job_ids)), jobs.c.locked_by == worker_id, jobs.c.status == JobStatus.RUNNING
    )
    return int((await conn.execute(query)).scalar() or 0)


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
