"""Rate limits on single actions (api-core §17): 429/1007 with the wait in whole seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from linq_server.domain.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``calls`` calls per ``window`` in one scope."""

    calls: int
    window: timedelta


# Capability checks: 1 per 10 s per partner, check and address (the scope is undocumented).
CAPABILITY_CHECK = Limit(1, timedelta(seconds=10))
# Sharing a contact card: 1 per chat per 5 minutes.
SHARE_CONTACT_CARD = Limit(1, timedelta(minutes=5))
# Creating and updating a line's contact card share 3 calls per 10 minutes.
CONTACT_CARD_WRITE = Limit(3, timedelta(minutes=10))


def check_window(frees_at: datetime | None, now: datetime) -> None:
    """Raise ``RateLimited`` when the window is full (``frees_at`` is when it ends); at least 1 s to wait."""
    if frees_at is not None:
        raise RateLimited(max(1, math.ceil((frees_at - now).total_seconds())))
