"""The rate-limit log: the times of each (line, recipient) pair's sends in the last rolling minute."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import send_windows

Pair = tuple[str, str]


async def lock_windows(db: Database, conn: AsyncConnection, pairs: list[Pair]) -> dict[Pair, list[datetime]]:
    """The (line, recipient) pairs' logs, locked until commit (rows created empty first), so concurrent sends
    count exactly.

    Locks in sorted order, so two transactions sending to overlapping pairs cannot deadlock.
    """
    ordered = sorted(set(pairs))
    if not ordered:
        return {}
    await conn.execute(
        db.insert_or_ignore(
            send_windows,
            [{"line_number": line, "recipient": recipient, "recent": []} for line, recipient in ordered],
            ["line_number", "recipient"],
        )
    )
    key = sa.tuple_(send_windows.c.line_number, send_windows.c.recipient)
    query = (
        sa.select(send_windows.c.line_number, send_windows.c.recipient, send_windows.c.recent)
        .where(key.in_(ordered))
        .order_by(send_windows.c.line_number, send_windows.c.recipient)
    )
    rows = (await conn.execute(db.for_update(query))).all()
    return {(row.line_number, row.recipient): [datetime.fromisoformat(moment) for moment in row.recent] for row in rows}


async def save_windows(conn: AsyncConnection, windows: dict[Pair, list[datetime]]) -> None:
    """Write the logs back, in one statement."""
    if not windows:
        return
    await conn.execute(
        send_windows.update()
        .where(
            send_windows.c.line_number == sa.bindparam("pair_line"),
            send_windows.c.recipient == sa.bindparam("pair_recipient"),
        )
        .values(recent=sa.bindparam("pair_recent")),
        [
            {"pair_line": line, "pair_recipient": recipient, "pair_recent": [moment.isoformat() for moment in moments]}
            for (line, recipient), moments in sorted(windows.items())
        ],
    )
