"""The worker: claims due jobs, runs their handlers, retries with backoff, and shuts down gracefully."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from linq_server.jobs.queue import CHANNEL, JobQueue
from linq_server.jobs.retry import Backoff, RetryLater
from linq_server.store import jobs as store
from linq_server.store.jobs import Job

log = logging.getLogger("linq_server.jobs")

Handler = Callable[[Job], Awaitable[None]]

IDLE_POLL_SECONDS = 1.0


class Worker:
    """Runs up to ``concurrency`` jobs at once from the shared queue.

    Several workers, in one process or in many on several machines, may share one database: a
    claim is a lease (worker id + expiry), so each job runs in one place at a time, and a job whose
    worker died is claimed again once its lease lapses.
    """

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 16,
        lease_seconds: float = 60.0,
        backoff: Backoff | None = None,
        shutdown_grace_seconds: float = 20.0,
    ) -> None:
        self.queue = queue
        self.db = queue.db
        self.clock = queue.clock
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff = backoff or Backoff()
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[asyncio.Task[None], Job] = {}
        queue.on_enqueue(self.wake)
        self.clock.on_advance(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once the jobs in hand are finished or released."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        close_listener = await self.db.listen(CHANNEL, self.wake)
        try:
            while not self._stopping:
                self._wake.clear()
                free = self.concurrency - len(self._in_flight)
                claimed = await self._claim(free) if free > 0 else []
                self._start(claimed)
                if free > 0 and len(claimed) == free:
                    continue  # the queue may hold more; claim again at once
                await self._idle(until_due=not claimed)
        finally:
            await self._drain()
            if close_listener:
                await close_listener()

    async def run_until_idle(self) -> None:
        """Run until no job is due and none is in flight (tests drive time with a manual clock)."""
        while True:
            free = self.concurrency - len(self._in_flight)
            claimed = await self._claim(free) if free > 0 else []
            self._start(claimed)
            if not claimed and not self._in_flight:
                return
            if self._in_flight:
                await asyncio.wait(list(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    def _start(self, claimed: list[Job]) -> None:
        for job in claimed:
            task = asyncio.create_task(self._run(job))
            self._in_flight[task] = job
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()  # a slot is free

    async def _claim(self, limit: int) -> list[Job]:
        try:
            async with self.db.write() as conn:
                return await store.claim(
                    self.db, conn, worker_id=self.id, limit=limit, now=self.clock.now(), lease=self.lease
                )
        except Exception:
            log.exception("claiming jobs failed; retrying shortly")
            return []

    async def _idle(self, *, until_due: bool) -> None:
        timeout = IDLE_POLL_SECONDS
        if until_due:
            async with self.db.read() as conn:
                due = await store.next_due_at(conn)
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self.clock.now()).total_seconds()))
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            await handler(job)
        except asyncio.CancelledError:
            await self._record(store.release, [job.id], self.id)
            raise
        except RetryLater as retry:
            await self._retry_or_bury(job, retry.seconds, retry.reason)
        except Exception as error:
            log.warning("job %s (%s) attempt %d failed: %r", job.id, job.kind, job.attempts, error)
            await self._retry_or_bury(job, self.backoff.delay(job.attempts), repr(error))
        else:
            await self._record(store.mark_done, [job.id], self.id, self.clock.now())

    async def _retry_or_bury(self, job: Job, delay: float, reason: str) -> None:
        if job.attempts >= job.max_attempts:
            log.error("job %s (%s) is dead after %d attempts: %s", job.id, job.kind, job.attempts, reason)
            await self._record(store.mark_dead, job.id, self.id, error=reason, now=self.clock.now())
        else:
            run_at = self.clock.now() + timedelta(seconds=delay)
            await self._record(store.mark_retry, job.id, self.id, run_at=run_at, error=reason)

    async def _record(self, operation: Callable[..., Awaitable[None]], *args: object, **kwargs: object) -> None:
        # If this write fails, the lease lapses and the job runs again: at-least-once, never lost.
        try:
            async with self.db.write() as conn:
                await operation(conn, *args, **kwargs)
        except Exception:
            log.exception("recording a job outcome failed; the lease will expire and the job will be retried")

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _done, pending = await asyncio.wait(list(self._in_flight), timeout=self.shutdown_grace_seconds)
        for task in pending:
            task.cancel()  # _run releases the job on cancellation
        if pending:
            await asyncio.wait(pending)
