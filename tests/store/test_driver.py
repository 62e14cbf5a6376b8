"""Statements run straight on the driver (store/driver.py) share the caller's transaction and store values
exactly as SQLAlchemy does, so both kinds of statement read each other's rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from linq_server.clock import ManualClock
from linq_server.jobs.queue import JobQueue
from linq_server.store import jobs as store
from linq_server.store.database import Database


@pytest.fixture
async def queue(fresh_database_url: str) -> AsyncIterator[JobQueue]:
    db = Database(fresh_database_url)
    yield JobQueue(db, ManualClock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)))
    await db.close()


async def test_a_driver_statement_first_in_a_transaction_that_rolls_back_leaves_nothing(queue: JobQueue) -> None:
    # asyncpg under SQLAlchemy sends BEGIN only before SQLAlchemy's own first statement: a driver statement
    # sent first must still be inside the transaction, not committed on its own.
    with pytest.raises(RuntimeError):
        async with queue.db.write() as conn:
            await queue.enqueue(conn, "test", {"n": 1})
            raise RuntimeError("the change that needed the job failed")
    async with queue.db.read() as conn:
        assert await store.counts_by_status(conn) == {}


async def test_jobs_written_on_the_driver_read_back_through_sqlalchemy_alike(queue: JobQueue) -> None:
    due = queue.clock.now() + timedelta(seconds=30)  # a whole second: the text form still has its microseconds
    async with queue.db.write() as conn:
        job_id = await queue.enqueue(
            conn, "test", {"chat": "c1", "nested": {"list": [1, "two", None]}}, delay_seconds=30
        )
    async with queue.db.read() as conn:
        row = await store.get_job(conn, job_id)
        assert await store.next_due_at(conn) == due
    assert row is not None
    assert row["payload"] == {"chat": "c1", "nested": {"list": [1, "two", None]}}
    assert row["run_at"] == due and row["created_at"] == queue.clock.now()
    async with queue.db.write() as conn:
        early = await store.claim(
            conn, worker_id="w", limit=5, now=due - timedelta(microseconds=1), lease=timedelta(60)
        )
        (claimed,) = await store.claim(conn, worker_id="w", limit=5, now=due, lease=timedelta(seconds=60))
    assert early == []
    assert (claimed.id, claimed.payload, claimed.attempts, claimed.created_at) == (
        job_id, {"chat": "c1", "nested": {"list": [1, "two", None]}}, 1, queue.clock.now()
    )  # fmt: skip
    async with queue.db.write() as conn:
        await store.mark_done(conn, [job_id], "w", due)
    async with queue.db.read() as conn:
        finished = await store.get_job(conn, job_id)
        assert await store.counts_by_status(conn) == {"done": 1}
    assert finished is not None and finished["finished_at"] == due
