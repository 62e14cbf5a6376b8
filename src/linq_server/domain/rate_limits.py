"""The per-pair send limit (api-core §17): 30 messages per rolling 60 seconds per (line, recipient).

Pure sliding-window log: the times of the pair's recent sends in, the times to keep out (or a
``RateLimited`` saying how long to wait). The caller reads and writes the log under a row lock in
the send transaction, so the count is exact across workers and processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from linq_server.domain.errors import RateLimited

MESSAGES_PER_WINDOW = 30
WINDOW = timedelta(seconds=60)


def admit(recent: Sequence[datetime], now: datetime, limit: int = MESSAGES_PER_WINDOW) -> list[datetime]:
    """Admit one more send at ``now``; returns the window's sends including it (at most ``limit``).

    Raises ``RateLimited`` with the whole seconds until the oldest send in the window leaves it.
    """
    window = sorted(moment for moment in recent if now - moment < WINDOW)
    if len(window) >= limit:
        frees_at = window[len(window) - limit] + WINDOW
        raise RateLimited(max(1, math.ceil((frees_at - now).total_seconds())))
    return [*window, now]


class PairWindows:
    """The logs of the (line, recipient) pairs one write transaction sends to, read under lock.

    Several sends are counted against them in turn; the changed logs are written back once, at the end.
    """

    def __init__(self, logs: dict[tuple[str, str], list[datetime]]) -> None:
        self.logs = logs
        self.changed: set[tuple[str, str]] = set()

    def admit(self, line: str, recipients: Sequence[str], now: datetime, limit: int) -> None:
        """Count one send from ``line`` to every recipient, or raise ``RateLimited`` and count none."""
        admitted = {(line, r): admit(self.logs[(line, r)], now, limit) for r in recipients}
        self.logs.update(admitted)
        self.changed.update(admitted)

    def to_save(self) -> dict[tuple[str, str], list[datetime]]:
        return {pair: self.logs[pair] for pair in self.changed}
