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
