"""Retry delays: exponential backoff with jitter, as a small value object."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float = 1.0
    factor: float = 2.0
    cap_seconds: float = 300.0
    jitter: float = 0.2  # ± this fraction, so retries of many jobs do not arrive in lockstep

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        nominal = min(self.cap_seconds, self.base_seconds * self.factor ** max(0, attempt - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, nominal * (1 + spread))


class RetryLater(Exception):
    """Raised by a job handler: try again in ``seconds`` (e.g. honouring a Retry-After)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
