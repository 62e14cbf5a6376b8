"""The rate-limit log: the times of each (line, recipient) pair's sends in the last rolling minute.

A log is a JSON list of epoch milliseconds (logs written before held ISO times, still read): a busy pair
rewrites its log on every send, and integers cost far less to write and read back than ISO strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.driver import Driver
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
    logs = await _locked(conn, ordered)
    if missing := [pair for pair in ordered if pair not in logs]:
        rows = [{"line_number": line, "recipient": recipient, "recent": []} for line, recipient in missing]
        await conn.execute(db.built(_create_windows), rows)
        logs |= await _locked(conn, missing)
    return logs


async def _locked(conn: AsyncConnection, pairs: list[Pair]) -> dict[Pair, list[datetime]]:
    driver = await Driver.of(conn)
    sql = (
        "SELECT line_number, recipient, recent FROM send_windows"
        f" WHERE {driver.in_pairs('line_number', 'recipient')} ORDER BY line_number, recipient{driver.for_update(True)}"
    )
    rows = await driver.fetch(sql, driver.pairs(pairs))
    return {
        (line, recipient): [_moment(stored) for stored in driver.read_json(recent)] for line, recipient, recent in rows
    }


def _create_windows(db: Database) -> Any:
    return db.insert_or_ignore(send_windows, ["line_number", "recipient"])


async def save_windows(conn: AsyncConnection, windows: dict[Pair, list[datetime]]) -> None:
    """Write the logs back, in one statement."""
    if not windows:
        return
    driver = await Driver.of(conn)
    await driver.execute_many(
        "UPDATE send_windows SET recent = ? WHERE line_number = ? AND recipient = ?",
        [
            (driver.json([_stored(moment) for moment in moments]), line, recipient)
            for (line, recipient), moments in sorted(windows.items())
        ],
    )
