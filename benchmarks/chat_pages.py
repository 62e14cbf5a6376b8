"""List-chats page cost against the number of chats stored: it should not grow with the table.

    python -m benchmarks.chat_pages [--sizes 10 200000]

Rows are written straight into the store (90 % of them another partner's), then one partner's first
page and a later page with a `from` filter are timed, 50 reads each.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from benchmarks.support import fresh_database, postgres_available, print_table
from linq_server.store import chats as chat_store
from linq_server.store.database import Database
from linq_server.store.schema import chats, partners, phone_numbers

LINES = {"mine": "+12025550100", "theirs": "+12025550101"}


async def _fill(db: Database, size: int) -> None:
    now = datetime.now(UTC)
    async with db.write() as conn:
        for partner, number in LINES.items():
            await conn.execute(partners.insert().values(id=partner, name=partner, created_at=now))
            await conn.execute(
                phone_numbers.insert().values(
                    id=partner, partner_id=partner, phone_number=number, line_type="iMessage", capabilities={},
                    created_at=now,
                )
            )  # fmt: skip
        rows = []
        for n in range(size):
            owner = "mine" if n % 10 == 0 else "theirs"
            rows.append(
                {"id": str(uuid.uuid4()), "partner_id": owner, "line_id": owner, "line_number": LINES[owner],
                 "is_group": False, "service": "iMessage", "recipient_key": str(n), "reusable": True,
                 "created_at": now + timedelta(seconds=n), "updated_at": now}
            )  # fmt: skip
            if len(rows) == 5000 or n == size - 1:
                await conn.execute(chats.insert(), rows)
                rows = []


async def _time_pages(url: str, size: int) -> list[str]:
    db = Database(url)
    try:
        await _fill(db, size)
        async with db.read() as conn:
            started = time.perf_counter()
            for _ in range(50):
                page = await chat_store.page_of_chats(
                    conn, "mine", line_number=None, participant=None, after=None, limit=20
                )
            first = (time.perf_counter() - started) / 50 * 1000
            after = (page[-1].created_at, page[-1].id)
            started = time.perf_counter()
            for _ in range(50):
                await chat_store.page_of_chats(
                    conn, "mine", line_number=LINES["mine"], participant=None, after=after, limit=20
                )
            later = (time.perf_counter() - started) / 50 * 1000
    finally:
        await db.close()
    return [f"{size:,}", f"{first:.2f}", f"{later:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 200_000])
    args = parser.parse_args()
    rows = []
    for kind in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for size in args.sizes:
            with fresh_database(kind) as url:
                rows.append([kind, *asyncio.run(_time_pages(url, size))])
    print_table("GET /v3/chats page cost (store query, 20 per page)", ["database", "chats stored", "first page ms",
                "later page, from filter ms"], rows)  # fmt: skip


if __name__ == "__main__":
    main()
