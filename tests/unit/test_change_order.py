"""Which queued chat changes must wait for earlier ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linq_server.domain.chat_changes import _blocked
from linq_server.store.changes import Change
from linq_server.vocabulary import ChangeKind, ChangeStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def change(n: int, kind: ChangeKind, value: str | None = None) -> Change:
    return Change(f"c{n}", "chat", kind, value, ChangeStatus.QUEUED, None, "t" * 32, T0 + timedelta(seconds=n))


def test_adds_of_different_people_do_not_wait() -> None:
    first, second = change(1, ChangeKind.ADD_PARTICIPANT, "+1"), change(2, ChangeKind.ADD_PARTICIPANT, "+2")
    assert not _blocked(second, [first, second], going_ahead=set())


def test_the_same_member_and_renames_keep_their_order() -> None:
    add, remove = change(1, ChangeKind.ADD_PARTICIPANT, "+1"), change(2, ChangeKind.REMOVE_PARTICIPANT, "+1")
    assert _blocked(remove, [add, remove], going_ahead=set())
    assert not _blocked(remove, [add, remove], going_ahead={"c1"})
    rename_a, rename_b = change(1, ChangeKind.RENAME, "A"), change(2, ChangeKind.RENAME, "B")
    assert _blocked(rename_b, [rename_a, rename_b], going_ahead=set())
    assert not _blocked(rename_a, [rename_a, rename_b], going_ahead=set())


def test_leaving_waits_for_everything_asked_before_it() -> None:
    add, leave = change(1, ChangeKind.ADD_PARTICIPANT, "+1"), change(2, ChangeKind.LEAVE, "+0")
    assert _blocked(leave, [add, leave], going_ahead=set())
