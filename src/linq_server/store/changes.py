"""Queued chat changes: recorded by a request, settled (applied or failed) once by the worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.driver import Driver
from linq_server.store.schema import chat_changes
from linq_server.vocabulary import ChangeKind, ChangeStatus


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    chat_id: str
    kind: ChangeKind
    value: str | None
    status: ChangeStatus
    error: str | None
    trace_id: str
    requested_at: datetime


_CHANGE_COLUMNS = [chat_changes.c[name] for name in Change.__slots__]
_SELECT_CHANGES = "SELECT " + ", ".join(Change.__slots__) + " FROM chat_changes"


def _change(row: Any) -> Change:
    id_, chat_id, kind, value, status, error, trace_id, requested_at = row
    return Change(id_, chat_id, ChangeKind(kind), value, ChangeStatus(status), error, trace_id, requested_at)


def _change_from(driver: Driver, row: Sequence[Any]) -> Change:
    id_, chat_id, kind, value, status, error, trace_id, requested_at = row
    return Change(
        id_, chat_id, ChangeKind(kind), value, ChangeStatus(status), error, trace_id, driver.read_time(requested_at)
    )


async def insert_changes(conn: AsyncConnection, changes: list[Change]) -> None:
    if not changes:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        _INSERT_CHANGE,
        [(c.id, c.chat_id, str(c.kind), c.value, str(c.status), c.error, c.trace_id, driver.time(c.requested_at))
         for c in changes],
    )  # fmt: skip


_INSERT_CHANGE = "INSERT INTO chat_changes (" + ", ".join(Change.__slots__) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


async def queued_changes(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Change]]:
    found: dict[str, list[Change]] = {chat_id: [] for chat_id in chat_ids}
    if not chat_ids:
        return found
    driver = await Driver.of(conn)
    sql = f"{_SELECT_CHANGES} WHERE {driver.in_list('chat_id')} AND status = ? ORDER BY requested_at"
    for row in await driver.fetch(sql, (driver.ids(chat_ids), ChangeStatus.QUEUED.value)):
        change = _change_from(driver, row)
        found[change.chat_id].append(change)
    return found


async def changes_by_ids(conn: AsyncConnection, change_ids: list[str], *, lock: bool) -> list[Change]:
    """Changes in the order they were requested; ``lock`` keeps another worker off them until commit."""
    driver = await Driver.of(conn)
    sql = f"{_SELECT_CHANGES} WHERE {driver.in_list('id')} ORDER BY requested_at{driver.for_update(lock)}"
    return [_change_from(driver, row) for row in await driver.fetch(sql, (driver.ids(change_ids),))]


async def finish_changes(
    conn: AsyncConnection, outcomes: list[tuple[str, ChangeStatus, str | None]], now: datetime
) -> None:
    """Settle changes: (change id, applied | failed, error)."""
    if not outcomes:
        return
    driver = await Driver.of(conn)
    finished = driver.time(now)
    await driver.execute_many(
        "UPDATE chat_changes SET status = ?, error = ?, finished_at = ? WHERE id = ?",
        [(str(status), error, finished, change_id) for change_id, status, error in outcomes],
    )


async def applied_changes(conn: AsyncConnection, chat_id: str, since: datetime | None) -> list[tuple[Change, datetime]]:
    """The chat's changes that took effect (at or after ``since``), each with when, oldest first."""
    query = sa.select(*_CHANGE_COLUMNS, chat_changes.c.finished_at).where(
        chat_changes.c.chat_id == chat_id, chat_changes.c.status == ChangeStatus.APPLIED
    )
    if since is not None:
        query = query.where(chat_changes.c.finished_at >= since)
    rows = await conn.execute(query.order_by(chat_changes.c.finished_at, chat_changes.c.requested_at))
    return [(_change(row[:-1]), row.finished_at) for row in rows]
