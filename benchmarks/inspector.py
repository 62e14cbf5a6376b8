"""Time to first render of a 1,000-message chat in the inspector (target: under 300 ms on this machine).

    python -m benchmarks.inspector [--messages 1000] [--reads 30]

A real `linq-server serve --no-worker` answers over HTTP. Its database holds one group chat of MESSAGES
messages (a third of them ours, every tenth a reply, every seventh with a reaction, members joining
along the way). A browser-like client signs in to the inspector and times the whole response of the
chat page, as a browser's first render waits for it: the first read after start (cold), then READS
more; and the page of older messages from the middle of the chat.
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
from linq_server.store.schema import chat_changes, chat_participants, chats, message_reactions, messages

MEMBERS = ["+14155550111", "+14155550122", "+14155550133"]


async def _fill(url: str, count: int) -> tuple[str, str]:
    """One group chat of ``count`` messages; returns (the partner's API key, the chat id)."""
    db = Database(url)
    try:
        created = await partner_domain.create_partner(db, "measured", ["+12025550100"])
        line = created.lines[0]
        chat_id = str(uuid.uuid4())
        start = datetime.now(UTC) - timedelta(days=1)
        async with db.write() as conn:
            await conn.execute(chats.insert().values(
                id=chat_id, partner_id=created.partner.id, line_id=line.id, line_number=line.phone_number,
                is_group=True, service="iMessage", recipient_key=",".join(MEMBERS), reusable=False,
                custom_name="Benchmark group", message_seq=count, created_at=start, updated_at=start,
            ))  # fmt: skip
            await conn.execute(chat_participants.insert(), [
                {"id": str(uuid.uuid4()), "chat_id": chat_id, "handle": handle, "is_me": handle == line.phone_number,
                 "status": "active", "joined_at": start}
                for handle in [line.phone_number, *MEMBERS]
            ])  # fmt: skip
            rows, reactions, changes, ids = [], [], [], []
            for seq in range(1, count + 1):
                at = start + timedelta(seconds=seq * 30)
                mine = seq % 3 == 0
                message_id = str(uuid.uuid4())
                reply = {"message_id": ids[-5], "part_index": 0} if seq % 10 == 0 and len(ids) > 5 else None
                rows.append({
                    "id": message_id, "chat_id": chat_id, "partner_id": created.partner.id, "seq": seq,
                    "is_from_me": mine, "sender_handle": line.phone_number if mine else MEMBERS[seq % 3],
                    "parts": [{"type": "text", "value": f"Message number {seq}: " + "words " * (seq % 20)}],
                    "reply_to": reply, "thread_id": reply["message_id"] if reply else None, "service": "iMessage",
                    "delivery_status": "delivered" if mine else "received", "trace_id": uuid.uuid4().hex,
                    "edit_count": 0, "created_at": at, "updated_at": at, "sent_at": at,
                    "delivered_at": at if mine else None,
                })  # fmt: skip
                ids.append(message_id)
                if seq % 7 == 0:
                    reactions.append({
                        "id": str(uuid.uuid4()), "message_id": message_id, "part_index": 0,
                        "handle": MEMBERS[0], "is_me": False, "type": "love", "created_at": at, "updated_at": at,
                    })  # fmt: skip
                if seq % 100 == 0:
                    changes.append({
                        "id": str(uuid.uuid4()), "chat_id": chat_id, "kind": "add_participant",
                        "value": f"+1415555{seq:04d}", "status": "applied", "trace_id": uuid.uuid4().hex,
                        "requested_at": at, "finished_at": at,
                    })  # fmt: skip
            for table, values in ((messages, rows), (message_reactions, reactions), (chat_changes, changes)):
                if values:
                    await conn.execute(table.insert(), values)
        return created.api_key, chat_id
    finally:
        await db.close()


@contextmanager
def _serving(port: int, env: dict[str, str]) -> Iterator[None]:
    command = [sys.executable, "-m", "linq_server", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("linq-server did not start")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _read(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = http.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200 and "Message number" in response.text, response.status_code
    return elapsed


def _measure(url: str, count: int, reads: int, data_dir: str) -> list[str]:
    key, chat_id = asyncio.run(_fill(url, count))
    port = free_port()
    env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": partner_domain.generate_api_key(),
           "LINQ_SERVER_PHONE_NUMBERS": "+12025550199", "LINQ_SERVER_DATA_DIR": data_dir,
           "LINQ_SERVER_LOG_LEVEL": "WARNING"}  # fmt: skip
    with _serving(port, env), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        signed_in = http.post("/inspector/sign-in", data={"api_key": key})
        assert signed_in.status_code == 303, signed_in.text
        newest = f"/inspector/chats/{chat_id}"
        cold = _read(http, newest)
        warm = [_read(http, newest) for _ in range(reads)]
        older = [_read(http, f"{newest}?before={count // 2}") for _ in range(reads)]
        size = len(http.get(newest).content)
    return [
        f"{count:,}", f"{cold:.1f}", f"{median(warm):.1f} / {percentile(warm, 95):.1f}",
        f"{median(older):.1f} / {percentile(older, 95):.1f}", f"{size / 1024:.0f} KiB",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for kind in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data_dir:
            rows.append([kind, *_measure(url, args.messages, args.reads, data_dir)])
    print_table(
        f"GET /inspector/chats/{{id}} over HTTP, whole response: ms (median / p95 of {args.reads} reads)",
        ["database", "messages", "first read", "newest page", "older page (middle)", "page size"],
        rows,
    )


if __name__ == "__main__":
    main()
