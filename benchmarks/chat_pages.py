"""`GET /v3/chats` page cost against the number of chats stored: it should not grow with the table.

    python -m benchmarks.chat_pages [--sizes 100 200000] [--reads 50]

A real `linq-server serve --no-worker` answers over HTTP. Its database holds SIZE chats: at least 80
(and a tenth of SIZE) belong to the measured partner, the rest to another partner; half of ours include
one shared recipient, for the `to` filter. For each page kind, READS reads are timed from the client:
the first page, and a page from a cursor 90 % deep (reached by walking the pages, so it is a cursor the
server issued), each without and with the `to` filter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx

from benchmarks.support import free_port, fresh_database, median, percentile, postgres_available, print_table
from linq_server.domain import partners as partner_domain
from linq_server.store.database import Database
from linq_server.store.schema import chat_participants, chats

SHARED = "+14155550123"
PAGE = 20


async def _fill(url: str, size: int) -> tuple[str, str, int]:
    """Store ``size`` chats; returns (our API key, our line, how many chats are ours)."""
    db = Database(url)
    try:
        ours = await partner_domain.create_partner(db, "measured", ["+12025550100"])
        theirs = await partner_domain.create_partner(db, "other", ["+12025550101"])
        own = max(80, size // 10)
        start = datetime.now(UTC) - timedelta(days=30)
        async with db.write() as conn:
            chat_rows: list[dict[str, object]] = []
            member_rows: list[dict[str, object]] = []
            for n in range(max(size, own)):
                created = ours if n % max(1, size // own) == 0 and n // max(1, size // own) < own else theirs
                line = created.lines[0]
                recipient = SHARED if n % 2 == 0 else f"+1415{n:07d}"
                chat_id = str(uuid.uuid4())
                at = start + timedelta(seconds=n)
                chat_rows.append(
                    {"id": chat_id, "partner_id": created.partner.id, "line_id": line.id,
                     "line_number": line.phone_number, "is_group": False, "service": "iMessage",
                     "recipient_key": recipient, "reusable": False, "created_at": at, "updated_at": at}
                )  # fmt: skip
                for handle, is_me in ((line.phone_number, True), (recipient, False)):
                    member_rows.append(
                        {"id": str(uuid.uuid4()), "chat_id": chat_id, "handle": handle, "is_me": is_me,
                         "status": "active", "joined_at": at}
                    )  # fmt: skip
                if len(chat_rows) == 2000:
                    await conn.execute(chats.insert(), chat_rows)
                    await conn.execute(chat_participants.insert(), member_rows)
                    chat_rows, member_rows = [], []
            if chat_rows:
                await conn.execute(chats.insert(), chat_rows)
                await conn.execute(chat_participants.insert(), member_rows)
        async with db.read() as conn:
            counted = await conn.execute(chats.select().where(chats.c.partner_id == ours.partner.id))
            own_count = len(counted.all())
        return ours.api_key, ours.lines[0].phone_number, own_count
    finally:
        await db.close()


def _deep_cursor(http: httpx.Client, params: dict[str, str], chats_in_view: int) -> dict[str, str]:
    """Walk the pages to a cursor about 90 % of the way down, leaving at least a full page after it."""
    target, seen, cursor = max(0, min(int(chats_in_view * 0.9), chats_in_view - PAGE)), 0, None
    while seen < target:
        step = min(100, target - seen)
        page = http.get("/v3/chats", params={**params, "limit": str(step), **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        seen += len(page.json()["chats"])
        cursor = page.json()["next_cursor"]
        assert cursor, "ran out of pages before the deep cursor"
    return {"cursor": cursor} if cursor else {}


def _time(http: httpx.Client, params: dict[str, str], reads: int) -> tuple[float, float]:
    timings = []
    for _ in range(reads):
        started = time.perf_counter()
        response = http.get("/v3/chats", params={**params, "limit": str(PAGE)})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json()["chats"]) == PAGE, response.text
    return median(timings), percentile(timings, 95)


@contextmanager
def _serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[None]:
    """The server process, given two minutes to start (a loaded machine is slow to import it)."""
    proc = subprocess.Popen([sys.executable, *command], env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _healthy(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _measure(url: str, size: int, reads: int, data_dir: str) -> list[str]:
    key, _line, own = asyncio.run(_fill(url, size))
    port = free_port()
    # The server's own sandbox partner gets a line and key of its own; we read as the measured partner.
    env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": partner_domain.generate_api_key(),
           "LINQ_SERVER_PHONE_NUMBERS": "+12025550199", "LINQ_SERVER_DATA_DIR": data_dir,
           "LINQ_SERVER_LOG_LEVEL": "WARNING"}  # fmt: skip
    command = ["-m", "linq_server", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    with (
        _serving(command, port, env),
        httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/partner", headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http,
    ):
        cells = []
        for params, in_view in (({}, own), ({"to": SHARED}, own // 2)):
            cells.append(_time(http, params, reads))
            cells.append(_time(http, {**params, **_deep_cursor(http, params, in_view)}, reads))
    return [f"{size:,}", f"{own:,}", *(f"{p50:.1f} / {p95:.1f}" for p50, p95 in cells)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200_000])
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for kind in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for size in args.sizes:
            with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data_dir:
                rows.append([kind, *_measure(url, size, args.reads, data_dir)])
    print_table(
        f"GET /v3/chats over HTTP, {PAGE} per page: median / p95 ms of {args.reads} reads",
        ["database", "chats stored", "ours", "first page", "90 % deep", "to= first page", "to= 90 % deep"],
        rows,
    )


if __name__ == "__main__":
    main()
