"""Time, behind an object that tests can replace with one they move by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Real time needs no nudging; a manual clock calls ``callback`` whenever it is moved."""


class ManualClock(Clock):
    """A clock that moves only when told to, and wakes whoever waits on it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def on_advance(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        for listener in self._listeners:
            listener()


class SandboxClock(ManualClock):
    """The server's manual clock (``LINQ_SERVER_CLOCK=manual``): still until advanced, except for one
    microsecond per reading, so that records made one after another keep their order in lists."""

    def now(self) -> datetime:
        self._now += timedelta(microseconds=1)
        return self._now


def isoformat(moment: datetime) -> str:
    """Linq's timestamp form: UTC, millisecond precision, ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
