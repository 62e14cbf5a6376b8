"""What job handlers return, and the adapter that runs one-job-at-a-time handlers in a batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.jobs.retry import Backoff, RetryLater
from linq_server.store.jobs import Job

log = logging.getLogger("linq_server.jobs")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one job ended: finished (``retry_in`` None), or to be retried after ``retry_in`` seconds."""

    retry_in: float | None = None
    reason: str | None = None


FINISHED = Outcome()


@dataclass
class BatchResult:
    """Outcomes by job id, and writes to commit in the same transaction that records them."""

    outcomes: dict[str, Outcome]
    write: Callable[[AsyncConnection], Awaitable[None]] | None = None


BatchHandler = Callable[[list[Job]], Awaitable[BatchResult]]
JobHandler = Callable[[Job], Awaitable[None]]


@dataclass
class EachJob:
    """Runs a handler of one job once per job, concurrently; exceptions become retries with backoff."""

    handler: JobHandler
    backoff: Backoff = field(default_factory=Backoff)

    async def __call__(self, jobs: list[Job]) -> BatchResult:
        results = await asyncio.gather(*(self.handler(job) for job in jobs), return_exceptions=True)
        outcomes: dict[str, Outcome] = {}
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, RetryLater):
                outcomes[job.id] = Outcome(result.seconds, result.reason)
            elif isinstance(result, BaseException):
                log.warning("job %s (%s) attempt %d failed: %r", job.id, job.kind, job.attempts, result)
                outcomes[job.id] = Outcome(self.backoff.delay(job.attempts), repr(result))
            else:
                outcomes[job.id] = FINISHED
        return BatchResult(outcomes)
