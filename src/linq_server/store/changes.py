"""Queued chat changes: recorded by a request, settled (applied or failed) once by the worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
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


def _change(row: Any) -> Change:
    id_, chat_id, kind, value, status, error, trace_id, requested_at = row
    return Change(id_, chat_id, ChangeKind(kind), value, ChangeStatus(status), error, trace_id, requested_at)


async def insert_changes(conn: AsyncConnection, changes: list[Change]) -> None:
    if changes:
        await conn.execute(
            chat_changes.insert(), [{name: getattr(c, name) for name in Change.__slots__} for c in changes]
        )


async def queued_changes(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[Change]]:
    found: dict[str, list[Change]] = {chat_id: [] for chat_id in chat_ids}
    for row in await conn.execute(_QUEUED_CHANGES, {"chat_ids": chat_ids}):
        found[row.chat_id].append(_change(row))
    return found


_QUEUED_CHANGES = (
    sa.select(*_CHANGE_COLUMNS)
    .where(
        chat_changes.c.chat_id.in_(sa.bindparam("chat_ids", expanding=True)),
        chat_changes.c.status == ChangeStatus.QUEUED,
    )
    .order_by(chat_changes.c.requested_at)
)


async def changes_by_ids(db: Database, conn: AsyncConnection, change_ids: list[str], *, lock: bool) -> list[Change]:
    """Changes in the order they were requested; ``lock`` keeps another worker off them until commit."""
    rows = await conn.execute(db.locked(_CHANGES, lock=lock), {"ids": change_ids})
    return [_change(row) for row in rows]


_CHANGES = (
    sa.select(*_CHANGE_COLUMNS)
    .where(chat_changes.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(chat_changes.c.requested_at)
)


async def finish_changes(
    conn: AsyncConnection, outcomes: list[tuple[str, ChangeStatus, str | None]], now: datetime
) -> None:
    """Settle changes: (change id, applied | failed, error)."""
    if not outcomes:
        return
    rows = [
        {"change_id": change_id, "outcome": status, "reason": error, "now": now}
        for change_id, status, error in outcomes
    ]  # fmt: skip
    await conn.execute(_FINISH_CHANGE, rows)


_FINISH_CHANGE = (
    chat_changes.update()
    .where(chat_changes.c.id == sa.bindparam("change_id"))
    .values(status=sa.bindparam("outcome"), error=sa.bindparam("reason"), finished_at=sa.bindparam("now"))
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
