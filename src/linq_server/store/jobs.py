"""The jobs table: enqueue in the caller's transaction, claim due jobs, record outcomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import Timestamp, jobs
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
    await conn.execute(
        jobs.insert(),
        [
            {"id": job_id, "kind": kind, "payload": payload, "status": JobStatus.QUEUED, "run_at": run_at,
             "attempts": 0, "max_attempts": max_attempts, "created_at": now}
            for job_id, payload in zip(ids, payloads, strict=True)
        ],
    )  # fmt: skip
    return ids


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


async def claim(db: Database, conn: AsyncConnection, *, worker_id: str, limit: int, now: datetime,
                lease: timedelta) -> list[Job]:  # fmt: skip
    """Lease up to ``limit`` due jobs: queued ones whose time has come, and running ones whose lease lapsed
    with attempts left (``bury_lapsed`` takes care of the others)."""
    parameters = {"now": now, "limit": limit, "worker_id": worker_id, "until": now + lease}
    rows = await conn.execute(db.built(_claim), parameters)
    return [Job(r.id, r.kind, r.payload, r.attempts, r.max_attempts, r.created_at) for r in rows]


def _claim(db: Database) -> sa.Update:
    now = sa.bindparam("now", type_=Timestamp())
    lapsed = sa.and_(jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < now)
    due = sa.or_(
        sa.and_(jobs.c.status == JobStatus.QUEUED, jobs.c.run_at <= now),
        sa.and_(lapsed, jobs.c.attempts < jobs.c.max_attempts),
    )
    limit = sa.bindparam("limit", type_=sa.Integer())
    candidates = db.skip_locked(sa.select(jobs.c.id).where(due).order_by(jobs.c.run_at).limit(limit))
    return (
        jobs.update()
        .where(jobs.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=JobStatus.RUNNING,
            locked_by=sa.bindparam("worker_id"),
            locked_until=sa.bindparam("until"),
            attempts=jobs.c.attempts + 1,
        )
        .returning(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at)
    )


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
    await conn.execute(_MARK_DONE, {"ids": job_ids, "worker_id": worker_id, "now": now})


_MARK_DONE = (
    jobs.update()
    .where(
        jobs.c.id.in_(sa.bindparam("ids", expanding=True)),
        jobs.c.locked_by == sa.bindparam("worker_id"),
        jobs.c.status == JobStatus.RUNNING,
    )
    .values(status=JobStatus.DONE, locked_until=None, finished_at=sa.bindparam("now", type_=Timestamp()))
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
