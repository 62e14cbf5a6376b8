"""Enqueue jobs in the caller's transaction (outbox), and wake workers once it commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.clock import Clock
from linq_server.store import jobs as store
from linq_server.store.database import Database

CHANNEL = "linq_jobs"
DEFAULT_MAX_ATTEMPTS = 10


class JobQueue:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_enqueue(self, callback: Callable[[], None]) -> None:
        """Called (after commit) whenever a job is enqueued in this process."""
        self._listeners.append(callback)

    def _wake_local(self) -> None:
        for listener in self._listeners:
            listener()

    async def enqueue(
        self,
        conn: AsyncConnection,
        kind: str,
        payload: dict[str, Any],
        *,
        delay_seconds: float = 0.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lane_key: str | None = None,
    ) -> str:
        """Record a job in ``conn``'s transaction: it exists if and only if that transaction commits."""
        (job_id,) = await self.enqueue_many(
            conn, kind, [payload], delay_seconds=delay_seconds, max_attempts=max_attempts, lane_key=lane_key
        )
        return job_id

    async def enqueue_many(
        self,
        conn: AsyncConnection,
        kind: str,
        payloads: list[dict[str, Any]],
        *,
        delay_seconds: float = 0.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lane_key: str | None = None,
    ) -> list[str]:
        """Record several jobs of one kind in ``conn``'s transaction, in one statement. ``lane_key`` names the
        payload field that puts each job in a lane: one batch of a lane runs at a time."""
        if not payloads:
            return []
        now = self.clock.now()
        run_at = now + timedelta(seconds=delay_seconds)
        ids = await store.insert_jobs(
            conn, kind=kind, payloads=payloads, run_at=run_at, max_attempts=max_attempts, now=now, lane_key=lane_key
        )
        await self._announce(conn)
        return ids

    async def schedule(
        self,
        conn: AsyncConnection,
        kind: str,
        timed: list[tuple[dict[str, Any], float]],
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lane_key: str | None = None,
    ) -> list[str]:
        """Record jobs of one kind, each due ``delay`` seconds from now on the queue's clock: (payload, delay).

        This is how the far side of the network acts later (a change taking effect, a message delivered):
        a durable job, due on the injected clock, instead of a sleep. Ids are returned in the given order.
        """
        ids: dict[int, str] = {}
        for delay in sorted({delay for _payload, delay in timed}):
            positions = [n for n, (_payload, due_in) in enumerate(timed) if due_in == delay]
            made = await self.enqueue_many(
                conn, kind, [timed[n][0] for n in positions], delay_seconds=delay, max_attempts=max_attempts,
                lane_key=lane_key,
            )  # fmt: skip
            ids.update(zip(positions, made, strict=True))
        return [ids[n] for n in range(len(timed))]

    async def _announce(self, conn: AsyncConnection) -> None:
        """Wake this process's workers after commit, and other processes' through the database."""
        self.db.after_commit(conn, self._wake_local)
        await self.db.notify(conn, CHANNEL)
