"""The durable job queue on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from linq_server.clock import Clock, ManualClock
from linq_server.jobs import worker as worker_module
from linq_server.jobs.handlers import EachJob
from linq_server.jobs.queue import JobQueue
from linq_server.jobs.retry import Backoff, RetryLater
from linq_server.jobs.worker import Worker
from linq_server.store import jobs as store
from linq_server.store.database import Database
from linq_server.store.jobs import Job


@pytest.fixture
async def queue(fresh_database_url: str) -> AsyncIterator[JobQueue]:
    db = Database(fresh_database_url)
    yield JobQueue(db, ManualClock())
    await db.close()


def clock_of(queue: JobQueue) -> ManualClock:
    assert isinstance(queue.clock, ManualClock)
    return queue.clock


async def job_row(queue: JobQueue, job_id: str) -> dict[str, object]:
    async with queue.db.read() as conn:
        row = await store.get_job(conn, job_id)
    assert row is not None
    return row


async def test_a_job_exists_only_if_its_transaction_commits(queue: JobQueue) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with queue.db.write() as conn:
            await queue.enqueue(conn, "test", {"n": 1})
            raise Boom
    async with queue.db.write() as conn:
        kept = await queue.enqueue(conn, "test", {"n": 2})
    async with queue.db.read() as conn:
        assert await store.counts_by_status(conn) == {"queued": 1}
    assert (await job_row(queue, kept))["payload"] == {"n": 2}


async def test_enqueue_wakes_local_workers_only_after_commit(queue: JobQueue) -> None:
    woken: list[str] = []
    queue.on_enqueue(lambda: woken.append("woken"))
    async with queue.db.write() as conn:
        await queue.enqueue(conn, "test", {})
        await queue.enqueue(conn, "test", {})
        assert woken == []
    assert woken == ["woken"]


async def test_handler_runs_once_and_the_job_is_done(queue: JobQueue) -> None:
    seen: list[dict[str, object]] = []

    async def handler(job: Job) -> None:
        seen.append(job.payload)

    async with queue.db.write() as conn:
        job_id = await queue.enqueue(conn, "test", {"x": 1})
    await Worker(queue, {"test": EachJob(handler)}).run_until_idle()
    await Worker(queue, {"test": EachJob(handler)}).run_until_idle()
    assert seen == [{"x": 1}]
    row = await job_row(queue, job_id)
    assert row["status"] == "done" and row["attempts"] == 1


async def test_scheduled_jobs_fall_due_on_the_clock(queue: JobQueue) -> None:
    seen: list[object] = []

    async def handler(job: Job) -> None:
        seen.append(job.payload["n"])

    async with queue.db.write() as conn:
        ids = await queue.schedule(conn, "test", [({"n": 2}, 10.0), ({"n": 1}, 0.0), ({"n": 3}, 10.0)])
    assert [(await job_row(queue, job_id))["payload"] for job_id in ids] == [{"n": 2}, {"n": 1}, {"n": 3}]
    worker = Worker(queue, {"test": EachJob(handler)})
    await worker.run_until_idle()
    assert seen == [1]
    clock_of(queue).advance(10)
    await worker.run_until_idle()
    assert sorted(seen) == [1, 2, 3]  # type: ignore[type-var]


async def test_failures_back_off_then_the_job_is_dead_with_its_last_error(queue: JobQueue) -> None:
    calls = 0

    async def failing(job: Job) -> None:
        nonlocal calls
        calls += 1
        raise ValueError(f"failure {calls}")

    worker = Worker(queue, {"test": EachJob(failing, Backoff(base_seconds=10, jitter=0))})
    async with queue.db.write() as conn:
        job_id = await queue.enqueue(conn, "test", {}, max_attempts=3)
    await worker.run_until_idle()
    assert calls == 1
    clock_of(queue).advance(9)
    await worker.run_until_idle()
    assert calls == 1  # 10 s backoff not over
    clock_of(queue).advance(1)
    await worker.run_until_idle()
    assert calls == 2
    clock_of(queue).advance(20)  # second backoff doubles
    await worker.run_until_idle()
    row = await job_row(queue, job_id)
    assert calls == 3 and row["status"] == "dead" and row["last_error"] == "ValueError('failure 3')"


async def test_retry_later_sets_the_next_run(queue: JobQueue) -> None:
    runs: list[object] = []

    async def handler(job: Job) -> None:
        runs.append(queue.clock.now())
        if len(runs) == 1:
            raise RetryLater(7, "not yet")

    async with queue.db.write() as conn:
        await queue.enqueue(conn, "test", {})
    worker = Worker(queue, {"test": EachJob(handler)})
    await worker.run_until_idle()
    clock_of(queue).advance(6.9)
    await worker.run_until_idle()
    assert len(runs) == 1
    clock_of(queue).advance(0.1)
    await worker.run_until_idle()
    assert len(runs) == 2


async def test_a_dead_workers_lease_expires_and_another_worker_takes_the_job(queue: JobQueue) -> None:
    async with queue.db.write() as conn:
        job_id = await queue.enqueue(conn, "test", {})
    async with queue.db.write() as conn:  # a worker claims it, then "dies" without finishing
        (_claimed,) = await store.claim(
            conn, worker_id="dead", limit=10, now=queue.clock.now(), lease=Worker(queue, {}).lease
        )
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.id)

    survivor = Worker(queue, {"test": EachJob(handler)}, lease_seconds=60)
    await survivor.run_until_idle()
    assert ran == []  # still leased
    clock_of(queue).advance(61)
    await survivor.run_until_idle()
    assert ran == [job_id]
    row = await job_row(queue, job_id)
    assert row["status"] == "done" and row["attempts"] == 2


async def test_graceful_stop_releases_unfinished_work(queue: JobQueue) -> None:
    started = asyncio.Event()

    async def slow(job: Job) -> None:
        started.set()
        await asyncio.sleep(60)

    async with queue.db.write() as conn:
        job_id = await queue.enqueue(conn, "test", {})
    worker = Worker(queue, {"test": EachJob(slow)}, shutdown_grace_seconds=0.1)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    row = await job_row(queue, job_id)
    assert row["status"] == "queued" and row["attempts"] == 0 and row["locked_by"] is None


async def test_competing_workers_run_every_job_exactly_once(queue: JobQueue, fresh_database_url: str) -> None:
    runs: Counter[int] = Counter()

    async def handler(job: Job) -> None:
        await asyncio.sleep(0)
        runs[int(str(job.payload["n"]))] += 1

    async with queue.db.write() as conn:
        for n in range(300):
            await queue.enqueue(conn, "test", {"n": n})
    # Two workers with their own database handles, as two processes would have.
    other_db = Database(fresh_database_url)
    other_queue = JobQueue(other_db, queue.clock)
    try:
        workers = [
            Worker(queue, {"test": EachJob(handler)}, concurrency=8),
            Worker(other_queue, {"test": EachJob(handler)}, concurrency=8),
        ]
        await asyncio.gather(*(w.run_until_idle() for w in workers))
    finally:
        await other_db.close()
    assert sorted(runs) == list(range(300)) and set(runs.values()) == {1}
    async with queue.db.read() as conn:
        assert await store.counts_by_status(conn) == {"done": 300}


async def test_the_running_worker_picks_up_new_jobs_without_polling_delay(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the idle poll an hour long, only the wake-up on enqueue can get the job run within the test.
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 3600.0)
    done = asyncio.Event()
    idling = asyncio.Event()

    async def handler(job: Job) -> None:
        done.set()

    worker = Worker(queue, {"test": EachJob(handler)})
    idle = worker._idle

    async def noted_idle(*, until_due: bool) -> None:
        idling.set()
        await idle(until_due=until_due)

    monkeypatch.setattr(worker, "_idle", noted_idle)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(idling.wait(), 10)  # the worker found nothing and waits
    async with queue.db.write() as conn:
        await queue.enqueue(conn, "test", {})
    await asyncio.wait_for(done.wait(), 10)
    worker.stop()
    await running


async def test_a_job_whose_worker_dies_on_its_last_attempt_is_buried(queue: JobQueue) -> None:
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.id)

    survivor = Worker(queue, {"test": EachJob(handler)})
    await survivor.run_until_idle()  # a worker that was already running (and looked for such jobs then)
    async with queue.db.write() as conn:
        job_id = await queue.enqueue(conn, "test", {}, max_attempts=1)
    async with queue.db.write() as conn:  # the only attempt starts, and its worker dies
        await store.claim(conn, worker_id="dead", limit=1, now=queue.clock.now(), lease=survivor.lease)
    clock_of(queue).advance(3600)
    await survivor.run_until_idle()
    row = await job_row(queue, job_id)
    assert ran == [] and row["status"] == "dead" and "stopped" in str(row["last_error"])


async def test_a_job_falling_due_while_a_batch_runs_is_not_held_up_by_the_poll(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the idle poll an hour long, only a wake-up at the job's due time can run it within the test,
    # and the worker is busy with a batch of another kind all along.
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 3600.0)
    db = Database(fresh_database_url)
    queue = JobQueue(db, Clock())
    held, release, due_ran = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def hold(job: Job) -> None:
        held.set()
        await release.wait()

    ran: list[object] = []

    async def note(job: Job) -> None:
        ran.append(job.payload["n"])
        if len(ran) == 2:
            due_ran.set()

    worker = Worker(queue, {"hold": EachJob(hold), "due": EachJob(note)})
    running = asyncio.create_task(worker.run())
    try:
        async with db.write() as conn:
            await queue.enqueue(conn, "hold", {})
        await asyncio.wait_for(held.wait(), 10)
        async with db.write() as conn:
            await queue.enqueue(conn, "due", {"n": "now"})  # wakes the worker at commit
            await queue.enqueue(conn, "due", {"n": "soon"}, delay_seconds=0.2)  # wakes it when due
        await asyncio.wait_for(due_ran.wait(), 10)
        assert sorted(map(str, ran)) == ["now", "soon"] and not release.is_set()  # while the other batch ran
    finally:
        release.set()
        worker.stop()
        await running
        await db.close()
