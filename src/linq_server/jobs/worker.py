"""The worker: claims due jobs in batches, runs their handlers, records outcomes, shuts down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import groupby

from linq_server.jobs.handlers import BatchHandler, BatchResult, Outcome
from linq_server.jobs.queue import CHANNEL, JobQueue
from linq_server.jobs.retry import Backoff
from linq_server.outage import Outage
from linq_server.store import jobs as store
from linq_server.store.availability import is_unavailable
from linq_server.store.jobs import Job

log = logging.getLogger("linq_server.jobs")

IDLE_POLL_SECONDS = 1.0
# Jobs whose worker died on their last attempt are buried this often, not at every claim (a statement saved
# per claim, and claims come with nearly every commit under load).
BURY_EVERY = timedelta(seconds=5)
BATCH_SIZE = 32
# Batches of one lane (a webhook target) that run at once: a hanging target holds this many, and no more. One
# also keeps a target's deliveries in order, and measured no slower than two (docs/operations.md).
LANE_BATCHES = 1
CHECK_IN_SECONDS = 1.0
# A worker that has not checked in for this long is taken for dead, and the jobs it held are claimed again.
SILENT_SECONDS = 5.0
# A handler that forgets a job gets it retried rather than silently marked done.
_NO_OUTCOME = Outcome(0, "the handler gave no outcome")
_WORKER_DIED = Outcome(0, "its worker stopped during the last attempt")


class Worker:
    """Runs up to ``concurrency`` jobs at once from the shared queue, in batches of up to ``BATCH_SIZE``.

    A batch costs three transactions whatever its size (claim, the handler's read, the outcome
    write), which is what lets one process deliver thousands of jobs a second. Several workers,
    in one process or in many on several machines, may share one database: a claim is a lease
    (worker id + expiry), so a job runs in one place at a time, and a job whose worker died is
    claimed again once its lease lapses (at-least-once).
    """

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, BatchHandler],
        *,
        concurrency: int = 64,
        lease_seconds: float = 60.0,
        backoff: Backoff | None = None,
        shutdown_grace_seconds: float = 20.0,
    ) -> None:
        self.queue = queue
        self.db = queue.db
        self.clock = queue.clock
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.batch_size = max(1, min(BATCH_SIZE, concurrency))
        self.max_batches = max(1, concurrency // self.batch_size)
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff = backoff or Backoff()
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._leaving = asyncio.Event()
        self._stopping = False
        self._batches: dict[asyncio.Task[None], list[Job]] = {}
        self._lanes: Counter[str] = Counter()
        self._buried_at: datetime | None = None
        self.started_at = time.time()
        self._loop_health = Outage("the job worker", log)
        self._check_in_health = Outage("the job worker's check-in", log)
        queue.on_enqueue(self.wake)
        self.clock.on_advance(self.wake)

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once the jobs in hand are finished or released."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until ``stop``. A database or network fault in any step is logged once per outage
        and retried with backoff; the loop itself only ends when stopped."""
        checking_in = asyncio.create_task(self._keep_checking_in())
        close_listener = await self.db.listen(CHANNEL, self.wake, on_reconnect=self.wake)
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self._step()
                except Exception as error:
                    await self._rest(self._loop_health.failed(error))
                else:
                    self._loop_health.recovered()
        finally:
            await self._drain()  # still checking in: the jobs in hand stay ours while they finish
            self._leaving.set()
            await checking_in  # not cancelled: a transaction cut off mid-way would leave its connection unusable
            if close_listener:
                await close_listener()
            await self._check_out()

    async def _step(self) -> None:
        slot_free = self._free_slot()
        claimed = await self._claim() if slot_free else []
        self._start(claimed)
        if len(claimed) == self.batch_size:
            return  # the queue may hold more; claim again at once
        # With a batch slot free, sleep only until the next job falls due, even while batches run; with
        # every slot taken, a finishing batch wakes us (waiting for a due time then would spin, since nothing
        # could be claimed).
        await self._idle(until_due=slot_free)

    def _free_slot(self) -> bool:
        """Jobs without a lane share ``max_batches`` slots; lanes are bounded each on its own."""
        return sum(1 for jobs in self._batches.values() if jobs[0].lane is None) < self.max_batches

    def _busy_lanes(self) -> list[str]:
        return [lane for lane, running in self._lanes.items() if running >= LANE_BATCHES]

    async def _rest(self, seconds: float) -> None:
        """Wait before trying again, unless told to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not self._stopping:
                    self._wake.clear()
                    await self._wake.wait()

    async def _keep_checking_in(self) -> None:
        """Check in every second until the worker leaves; once this worker has itself been checking in for
        ``SILENT_SECONDS`` without a fault (so a database that was away for everyone is not mistaken for dead
        workers), free the jobs of workers that have not."""
        while not self._leaving.is_set():
            try:
                freed = await self._check_in()
            except Exception as error:
                pause = self._check_in_health.failed(error)
            else:
                self._check_in_health.recovered()
                if freed:
                    log.warning("%d jobs held by a worker that stopped checking in are claimable again", freed)
                    self.wake()
                pause = CHECK_IN_SECONDS
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._leaving.wait()

    async def _check_in(self) -> int:
        freed = 0
        async with self.db.write() as conn:
            now = time.time()
            await store.check_in(conn, self.id, started_at=self.started_at, at=now)
            if self._check_in_health.healthy_for() >= SILENT_SECONDS:
                freed = await store.reclaim_from_silent(conn, silent_since=now - SILENT_SECONDS, now=self.clock.now())
        return freed

    async def _check_out(self) -> None:
        try:
            async with self.db.write() as conn:
                await store.check_out(conn, self.id)
        except Exception as error:
            log.warning("the job worker could not check out (%s); it will be taken for dead shortly", error)

    async def run_until_idle(self) -> None:
        """Run until no job is due and none is in hand (tests drive time with a manual clock)."""
        while True:
            running = len(self._batches)
            claimed = await self._claim() if self._free_slot() else []
            self._start(claimed)
            # Idle only if no batch was running when the claim began: one that finished during the claim
            # may have committed new jobs after the claim's snapshot (on PostgreSQL), so claim once more.
            if not claimed and not running and not self._batches:
                return
            if self._batches and not claimed:
                await asyncio.wait(list(self._batches), return_when=asyncio.FIRST_COMPLETED)

    def _start(self, claimed: list[Job]) -> None:
        """One batch per kind and lane, so a lane's batch holds none of another's jobs."""
        for _key, group in groupby(sorted(claimed, key=_batch_key), key=_batch_key):
            jobs = list(group)
            task = asyncio.create_task(self._run_batch(jobs))
            self._batches[task] = jobs
            if jobs[0].lane is not None:
                self._lanes[jobs[0].lane] += 1
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        jobs = self._batches.pop(task, None)
        lane = jobs[0].lane if jobs else None
        if lane is not None:
            self._lanes[lane] -= 1
            if self._lanes[lane] <= 0:
                del self._lanes[lane]
        self._wake.set()  # a batch slot is free

    async def _claim(self) -> list[Job]:
        now = self.clock.now()
        async with self.db.write() as conn:
            if self._buried_at is None or not self._buried_at <= now < self._buried_at + BURY_EVERY:
                await store.bury_lapsed(conn, now)
                self._buried_at = now
            return await store.claim(
                conn, worker_id=self.id, limit=self.batch_size, now=now, lease=self.lease, busy_lanes=self._busy_lanes()
            )

    async def _idle(self, *, until_due: bool) -> None:
        timeout = IDLE_POLL_SECONDS
        if until_due:
            async with self.db.read() as conn:
                due = await store.next_due_at(conn, self._busy_lanes())
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self.clock.now()).total_seconds()))
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _run_batch(self, claimed: list[Job]) -> None:
        # A job claimed past its last attempt had a worker die on that attempt: bury it, do not run it.
        exhausted = [job for job in claimed if job.attempts > job.max_attempts]
        jobs = [job for job in claimed if job.attempts <= job.max_attempts]
        if exhausted:
            await self._record(exhausted, BatchResult({job.id: _WORKER_DIED for job in exhausted}))
        if not jobs:
            return
        handler = self.handlers.get(jobs[0].kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {jobs[0].kind!r}")
            result = await handler(jobs)
        except asyncio.CancelledError:
            await self._release(jobs)
            raise
        except Exception as error:
            if is_unavailable(error):
                log.warning("a batch of %d %s jobs met a fault: %s", len(jobs), jobs[0].kind, error)
            else:
                log.exception("a batch of %d %s jobs failed", len(jobs), jobs[0].kind)
            result = BatchResult({job.id: Outcome(self.backoff.delay(job.attempts), repr(error)) for job in jobs})
        await self._record(jobs, result)

    async def _record(self, jobs: list[Job], result: BatchResult) -> None:
        """Commit the handler's writes and every job's outcome together.

        A fault is retried until it is too near the end of the lease; after that (or if the process dies
        first), the leases lapse and the jobs run again: at-least-once, never lost.
        """
        give_up_at = time.monotonic() + self.lease.total_seconds() / 2
        health = Outage(f"recording {len(jobs)} {jobs[0].kind} jobs", log)
        first = True
        while True:
            try:
                await self._commit_outcomes(jobs, result, first_try=first)
            except Exception as error:
                delay = health.failed(error)
                if self._stopping or time.monotonic() + delay > give_up_at:
                    log.warning("%d %s jobs were not recorded; they will run again", len(jobs), jobs[0].kind)
                    return
                await asyncio.sleep(delay)
                first = False
                continue
            health.recovered()
            return

    async def _commit_outcomes(self, jobs: list[Job], result: BatchResult, *, first_try: bool) -> None:
        now = self.clock.now()
        done = [job.id for job in jobs if result.outcomes.get(job.id, _NO_OUTCOME).retry_in is None]
        async with self.db.write() as conn:
            # A commit whose answer was lost may have landed: then the jobs are no longer ours, and the
            # handler's writes must not be made twice.
            if not first_try and not await store.held_by(conn, [job.id for job in jobs], self.id):
                return
            if result.write:
                await result.write(conn)
            if done:
                await store.mark_done(conn, done, self.id, now)
            for job in jobs:
                outcome = result.outcomes.get(job.id, _NO_OUTCOME)
                if outcome.retry_in is None:
                    continue
                reason = outcome.reason or "retry"
                if job.attempts >= job.max_attempts:
                    log.error("job %s (%s) is dead after %d attempts: %s", job.id, job.kind, job.attempts, reason)
                    await store.mark_dead(conn, job.id, self.id, error=reason, now=now)
                else:
                    run_at = now + timedelta(seconds=outcome.retry_in)
                    await store.mark_retry(conn, job.id, self.id, run_at=run_at, error=reason)

    async def _release(self, jobs: list[Job]) -> None:
        try:
            async with self.db.write() as conn:
                await store.release(conn, [job.id for job in jobs], self.id)
        except Exception:
            log.exception("releasing jobs failed; their leases will lapse")

    async def _drain(self) -> None:
        if not self._batches:
            return
        _done, pending = await asyncio.wait(list(self._batches), timeout=self.shutdown_grace_seconds)
        for task in pending:
            task.cancel()  # _run_batch releases its jobs on cancellation
        if pending:
            await asyncio.wait(pending)


def _batch_key(job: Job) -> tuple[str, str]:
    return job.kind, job.lane or ""
