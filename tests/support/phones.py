"""Unique phone numbers for tests, so tests can share a database without colliding."""

from __future__ import annotations

import itertools
import random

_serials = itertools.count(random.randrange(200_000, 900_000))


def new_phone(last_digit: int | None = None) -> str:
    """A unique US number; ``last_digit`` picks the final digit (the sandbox reads services from it)."""
    digit = random.randrange(10) if last_digit is None else last_digit
    return f"+1415{next(_serials):06d}{digit}"
