"""The rate-limit log: the times of each (line, recipient) pair's sends in the last rolling minute.

A log is a JSON list of epoch milliseconds (logs written before held ISO times, still read): a busy pair
rewrites its log on every send, and integers cost far less to write and read back than ISO strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import send_windows

Pair = tuple[str, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _moment(stored: int | str) -> datetime:
    if isinstance(stored, str):
        return datetime.fromisoformat(stored)
    return _EPOCH + timedelta(milliseconds=stored)


def _stored(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


async def lock_windows(db: Database, conn: AsyncConnection, pairs: list[Pair]) -> dict[Pair, list[datetime]]:
    """The (line, recipient) pairs' logs, locked until commit, so concurrent sends count exactly (a pair's
    first log is created empty, then locked).

    Locks in sorted order, so two transactions sending to the same known pairs cannot deadlock.
    """
    ordered = sorted(set(pairs))
    if not ordered:
        return {}
    logs = await _locked(db, conn, ordered)
    if missing := [pair for pair in ordered if pair not in logs]:
        rows = [{"line_number": line, "recipient": recipient, "recent": []} for line, recipient in missing]
        await conn.execute(db.built(_create_windows), rows)
        logs |= await _locked(db, conn, missing)
    return logs


async def _locked(db: Database, conn: AsyncConnection, pairs: list[Pair]) -> dict[Pair, list[datetime]]:
    rows = await conn.execute(db.locked(_WINDOWS), {"pairs": pairs})
    return {(row.line_number, row.recipient): [_moment(stored) for stored in row.recent] for row in rows}


_WINDOWS = (
    sa.select(send_windows.c.line_number, send_windows.c.recipient, send_windows.c.recent)
    .where(sa.tuple_(send_windows.c.line_number, send_windows.c.recipient).in_(sa.bindparam("pairs", expanding=True)))
    .order_by(send_windows.c.line_number, send_windows.c.recipient)
)


def _create_windows(db: Database) -> Any:
    return db.insert_or_ignore(send_windows, ["line_number", "recipient"])


_SAVE_WINDOW = (
    send_windows.update()
    .where(
        send_windows.c.line_number == sa.bindparam("pair_line"),
        send_windows.c.recipient == sa.bindparam("pair_recipient"),
    )
    .values(recent=sa.bindparam("pair_recent"))
)


async def save_windows(conn: AsyncConnection, windows: dict[Pair, list[datetime]]) -> None:
    """Write the logs back, in one statement."""
    if not windows:
        return
    await conn.execute(
        _SAVE_WINDOW,
        [
            {"pair_line": line, "pair_recipient": recipient, "pair_recent": [_stored(moment) for moment in moments]}
            for (line, recipient), moments in sorted(windows.items())
        ],
    )
