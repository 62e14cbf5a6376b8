"""The outbound delivery lifecycle as a pure transition table: a message's status and what the
network reports in, the new status, the timestamp it sets and the webhook it emits out.

queued → sent → delivered → read, or failed. iMessage and RCS report delivery and reads; SMS reports
delivery only. A report that does not move the message forward (a duplicate, a late delivery after a
read, a read on SMS) changes nothing and emits nothing, so a re-run job is harmless. A delivery may
still follow a failure (webhooks.md §8.1: "message.failed is not final").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Report(StrEnum):
    """What the network tells us about an outbound message."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Transition:
    status: str
    timestamp: str  # the message column the report sets
    event_type: str


RECEIPTS = {
    "iMessage": frozenset(Report),
    "RCS": frozenset(Report),
    "SMS": frozenset({Report.SENT, Report.DELIVERED, Report.FAILED}),
}

_TABLE: dict[tuple[str, Report], Transition] = {
    ("pending", Report.SENT): Transition("sent", "sent_at", "message.sent"),
    ("queued", Report.SENT): Transition("sent", "sent_at", "message.sent"),
    ("sent", Report.DELIVERED): Transition("delivered", "delivered_at", "message.delivered"),
    ("failed", Report.DELIVERED): Transition("delivered", "delivered_at", "message.delivered"),
    ("delivered", Report.READ): Transition("read", "read_at", "message.read"),
    ("pending", Report.FAILED): Transition("failed", "failed_at", "message.failed"),
    ("queued", Report.FAILED): Transition("failed", "failed_at", "message.failed"),
    ("sent", Report.FAILED): Transition("failed", "failed_at", "message.failed"),
}


def transition(status: str, report: Report, service: str, *, is_group: bool = False) -> Transition | None:
    """The move ``report`` makes from ``status`` on ``service``, or None when it changes nothing.

    Group messages have no read receipts: one ``message.delivered`` is their last event.
    """
    if report not in RECEIPTS.get(service, frozenset()) or (is_group and report == Report.READ):
        return None
    return _TABLE.get((status, report))


def is_delivered(status: str) -> bool:
    """The deprecated ``is_delivered`` flag: delivered or read."""
    return status in ("delivered", "read")
