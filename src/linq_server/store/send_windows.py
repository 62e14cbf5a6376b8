"""The rate-limit log: the times of each (line, recipient) pair's sends in the last rolling minute."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import send_windows


async def lock_windows(
    db: Database, conn: AsyncConnection, line_number: str, recipients: list[str]
) -> dict[str, list[datetime]]:
    """The pairs' logs, locked until commit (rows created empty first), so concurrent sends count exactly.

    Locks in sorted order, so two sends to overlapping recipients cannot deadlock.
    """
    ordered = sorted(set(recipients))
    await conn.execute(
        db.insert_or_ignore(
            send_windows,
            [{"line_number": line_number, "recipient": r, "recent": []} for r in ordered],
            ["line_number", "recipient"],
        )
    )
    query = (
        sa.select(send_windows.c.recipient, send_windows.c.recent)
        .where(send_windows.c.line_number == line_number, send_windows.c.recipient.in_(ordered))
        .order_by(send_windows.c.recipient)
    )
    rows = (await conn.execute(db.for_update(query))).all()
    return {row.recipient: [datetime.fromisoformat(moment) for moment in row.recent] for row in rows}


async def save_windows(conn: AsyncConnection, line_number: str, windows: dict[str, list[datetime]]) -> None:
    for recipient, moments in windows.items():
        await conn.execute(
            send_windows.update()
            .where(send_windows.c.line_number == line_number, send_windows.c.recipient == recipient)
            .values(recent=[moment.isoformat() for moment in moments])
        )
