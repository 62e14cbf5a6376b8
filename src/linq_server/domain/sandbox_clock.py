"""The sandbox's manual clock: read it, move it forward."""

from __future__ import annotations

from datetime import datetime

from linq_server.clock import Clock, ManualClock
from linq_server.domain.errors import InvalidParameterValue, StateConflict

# A day at most per call: enough to cross any window the API has, small enough to catch a typo'd unit.
MAX_ADVANCE_SECONDS = 86_400.0


def manual_clock(clock: Clock) -> ManualClock:
    """The clock, when it is manual; 409/2015 otherwise (the server runs on real time)."""
    if not isinstance(clock, ManualClock):
        raise StateConflict("The server runs on real time; start it with LINQ_SERVER_CLOCK=manual to move time")
    return clock


def check_advance(seconds: float) -> float:
    """Time moves forward only, by a finite amount of at most a day."""
    if not 0 < seconds <= MAX_ADVANCE_SECONDS:
        raise InvalidParameterValue(f"seconds must be more than 0 and at most {MAX_ADVANCE_SECONDS:g}")
    return seconds


def advance(clock: Clock, seconds: float) -> datetime:
    """Move the manual clock forward; everything due by then (retries, delays, jobs) runs at once."""
    manual = manual_clock(clock)
    manual.advance(check_advance(seconds))
    return manual.now()
