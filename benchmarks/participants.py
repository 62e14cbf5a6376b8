"""Participants benchmark: concurrent clients adding and removing group members.

    python -m benchmarks.participants [--clients 32] [--adds 6000] [--idle 100]

For each database (SQLite; PostgreSQL when it answers) it starts a real `linq-server serve`, makes
groups, then measures with `--clients` concurrent HTTP clients:
* adds: requests/s and p50/p95/p99 of the 202;
* removes of the handles just added: the same;
* when idle, one add at a time: p50/p95 from the 202 to the `participant.added` webhook;
and runs the same add load against a bare Starlette route answering the same JSON (the ceiling of
this stack on this machine), with the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks.support import (
    free_port,
    fresh_database,
    percentile,
    postgres_available,
    print_table,
    process,
)
from linq_server.domain.partners import generate_api_key

LINE = "+12025550100"
_serial = itertools.count(random.randrange(100_000, 500_000))


def new_iphone() -> str:
    """A unique handle whose last digit makes it an iPhone in the sandbox."""
    return f"+1415{next(_serial):06d}{random.randrange(6)}"


async def _load(
    session: aiohttp.ClientSession, method: str, jobs: list[tuple[str, str]], url: str, clients: int
) -> tuple[float, list[float], int]:
    """Send every (chat id, handle) with ``clients`` at once; returns (requests/s, latencies ms, non-202s)."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        while not queue.empty():
            chat_id, handle = queue.get_nowait()
            began = time.perf_counter()
            async with session.request(method, url.format(chat_id=chat_id), json={"handle": handle}) as response:
                await response.read()
                if response.status != 202:
                    failures += 1
            latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(jobs) / (time.perf_counter() - started), latencies, failures


async def _measure(base: str, key: str, receiver: str, clients: int, adds: int, idle: int) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
        async with session.post(
            "/api/partner/v3/webhook-subscriptions",
            json={"target_url": f"{receiver}/hook", "subscribed_events": ["participant.added"]},
        ) as response:
            assert response.status == 201, await response.text()
        per_group = 25
        groups = []
        for _ in range(adds // per_group + 1):
            body = {
                "from": LINE,
                "to": [new_iphone(), new_iphone()],
                "message": {"parts": [{"type": "text", "value": "hi"}]},
            }
            async with session.post("/api/partner/v3/chats", json=body) as response:
                groups.append((await response.json())["chat"]["id"])
        add_jobs = [(groups[n // per_group], new_iphone()) for n in range(adds)]
        random.shuffle(add_jobs)
        url = "/api/partner/v3/chats/{chat_id}/participants"
        rate, latencies, failures = await _load(session, "POST", add_jobs, url, clients)
        rows = {"adds": _row(rate, latencies, failures)}
        await _wait_applied(session, receiver, adds)
        rate, latencies, failures = await _load(session, "DELETE", add_jobs, url, clients)
        rows["removes"] = _row(rate, latencies, failures)

        # Idle: one add at a time; 202 → participant.added webhook.
        async with aiohttp.ClientSession() as plain:
            await plain.post(f"{receiver}/reset")
            sent: dict[str, float] = {}
            for n in range(idle):
                async with session.post(url.format(chat_id=groups[n % len(groups)]),
                                        json={"handle": new_iphone()}) as response:  # fmt: skip
                    sent[(await response.json())["trace_id"]] = time.time()
                await asyncio.sleep(0.03)
            await asyncio.sleep(1.0)
            async with plain.get(f"{receiver}/traces") as response:
                received: dict[str, float] = await response.json()
        delays = [(received[t] - at) * 1000 for t, at in sent.items() if t in received]
        rows["webhook"] = [f"{len(delays)}/{idle}", f"{percentile(delays, 50):.1f}", f"{percentile(delays, 95):.1f}"]
    return rows


async def _wait_applied(session: aiohttp.ClientSession, receiver: str, count: int) -> None:
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as plain:
        while time.monotonic() < deadline:
            async with plain.get(f"{receiver}/count") as response:
                if int(await response.json()) >= count:
                    return
            await asyncio.sleep(0.1)


def _row(rate: float, latencies: list[float], failures: int) -> list[str]:
    return [f"{rate:,.0f}", f"{percentile(latencies, 50):.1f}", f"{percentile(latencies, 95):.1f}",
            f"{percentile(latencies, 99):.1f}", str(failures)]  # fmt: skip


async def _ceiling(base: str, clients: int, adds: int) -> list[str]:
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=clients + 4)) as session:
        jobs = [(str(n), new_iphone()) for n in range(adds)]
        rate, latencies, failures = await _load(session, "POST", jobs, "/api/partner/v3/chats/{chat_id}/participants",
                                                clients)  # fmt: skip
    return _row(rate, latencies, failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--adds", type=int, default=6000)
    parser.add_argument("--idle", type=int, default=100)
    args = parser.parse_args()

    port = free_port()
    with process(["-m", "benchmarks.ceiling", str(port)], f"http://127.0.0.1:{port}/healthz"):
        ceiling = asyncio.run(_ceiling(f"http://127.0.0.1:{port}", args.clients, args.adds))
    load_rows = [["bare Starlette (ceiling)", "adds", *ceiling, "-"]]
    webhook_rows = []
    receiver_port = free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    with process(["-m", "benchmarks.receiver", str(receiver_port)], f"{receiver}/count"):
        for kind in ["sqlite"] + (["postgresql"] if postgres_available() else []):
            with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data:
                key, server_port = generate_api_key(), free_port()
                env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": key,
                       "LINQ_SERVER_PHONE_NUMBERS": LINE, "LINQ_SERVER_DATA_DIR": str(Path(data)),
                       "LINQ_SERVER_LOG_LEVEL": "WARNING"}  # fmt: skip
                base = f"http://127.0.0.1:{server_port}"
                command = ["-m", "linq_server", "serve", "--host", "127.0.0.1", "--port", str(server_port)]
                with process(command, f"{base}/healthz", env={**os.environ, **env}):
                    rows = asyncio.run(_measure(base, key, receiver, args.clients, args.adds, args.idle))
                ratio = float(rows["adds"][0].replace(",", "")) / float(ceiling[0].replace(",", ""))
                load_rows.append([f"linq-server, {kind}", "adds", *rows["adds"], f"{ratio:.0%}"])
                load_rows.append([f"linq-server, {kind}", "removes", *rows["removes"], "-"])
                webhook_rows.append([kind, *rows["webhook"]])
    print_table(
        f"Participant changes: {args.adds} requests, {args.clients} concurrent clients",
        ["server", "request", "requests/s", "p50 ms", "p95 ms", "p99 ms", "non-202", "of ceiling"],
        load_rows,
    )
    print_table("202 → participant.added webhook, idle", ["database", "received", "p50 ms", "p95 ms"], webhook_rows)


if __name__ == "__main__":
    main()
