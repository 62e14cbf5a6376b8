"""Outages of what a loop depends on (the database, the network): told once, retried with backoff."""

from __future__ import annotations

import asyncio
import logging
import time

from linq_server.store.availability import is_unavailable


class Outage:
    """One loop's view of one dependency. The first failure of an outage is logged with its cause, the
    attempts after it are not, and the recovery is logged with how long it lasted.

    A failure that is not the database or the network being away (a bug) gets its traceback, once.
    """

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        first_delay: float = 0.1,
        max_delay: float = 5.0,
        settle_seconds: float = 0.0,
    ) -> None:
        self.what = what
        # Successes closer than this to the last failure do not end the outage (requests answered from a
        # connection that still worked, amid others that failed).
        self.settle_seconds = settle_seconds
        self.last_failure = 0.0
        self.log = log
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.failures = 0
        self.began: float | None = None
        self.healthy_since = time.monotonic()

    @property
    def ongoing(self) -> bool:
        return self.began is not None

    def healthy_for(self) -> float:
        """Seconds since the last failure ended (0 during an outage)."""
        return 0.0 if self.ongoing else time.monotonic() - self.healthy_since

    def failed(self, error: BaseException) -> float:
        """Note a failure; returns the seconds to wait before trying again (doubling, capped)."""
        self.failures += 1
        self.last_failure = time.monotonic()
        if self.began is None:
            self.began = time.monotonic()
            cause = f"{type(error).__name__}: {error}".splitlines()[0]
            if is_unavailable(error):
                self.log.warning("%s: the database or network is away (%s)", self.what, cause)
            else:
                self.log.error("%s failed; retrying with backoff", self.what, exc_info=error)
        return min(self.max_delay, self.first_delay * 2.0 ** min(self.failures - 1, 16))

    async def pause(self, error: BaseException) -> None:
        await asyncio.sleep(self.failed(error))

    def recovered(self) -> None:
        if self.began is None or time.monotonic() - self.last_failure < self.settle_seconds:
            return
        lasted = self.last_failure - self.began
        self.log.warning("%s: back; the outage lasted %.1f s (%d failed attempts)", self.what, lasted, self.failures)
        self.began, self.failures, self.healthy_since = None, 0, time.monotonic()
