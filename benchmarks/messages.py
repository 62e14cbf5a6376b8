"""Messages benchmark: concurrent sends, and accept → webhook latency when idle.

    python -m benchmarks.messages [--clients 32] [--sends 3000] [--idle 100]

For each database (SQLite; PostgreSQL when it answers) it starts a real `linq-server serve` (the per-pair
rate limit raised, device latency 0 ms so the network's own delay is not measured), then with a simple
Python driver (aiohttp, `--clients` concurrent clients):
* sends into 64 DMs: sends/s and p50/p95/p99 of the 202;
* participant adds into groups in the same run, the same way (the rate sends should at least match);
* idle, one send at a time: p50/p95 from the 202 to `message.sent` and to `message.delivered`.
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

from benchmarks.support import free_port, fresh_database, percentile, postgres_available, print_table, process
from linq_server.domain.partners import generate_api_key

LINE = "+12025550100"
_serial = itertools.count(random.randrange(100_000, 500_000))


def new_iphone() -> str:
    return f"+1415{next(_serial):06d}{random.randrange(6)}"


async def _load(
    session: aiohttp.ClientSession, requests: list[tuple[str, dict[str, object]]], clients: int
) -> list[str]:
    """POST every (path, body) with ``clients`` at once; returns [requests/s, p50, p95, p99, non-202]."""
    queue: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        while not queue.empty():
            path, body = queue.get_nowait()
            began = time.perf_counter()
            async with session.post(path, json=body) as response:
                await response.read()
                failures += response.status != 202
            latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    rate = len(requests) / (time.perf_counter() - started)
    return [f"{rate:,.0f}", f"{percentile(latencies, 50):.1f}", f"{percentile(latencies, 95):.1f}",
            f"{percentile(latencies, 99):.1f}", str(failures)]  # fmt: skip


async def _chat(session: aiohttp.ClientSession, to: list[str]) -> str:
    body = {"from": LINE, "to": to, "message": {"parts": [{"type": "text", "value": "hi"}]}}
    async with session.post("/api/partner/v3/chats", json=body) as response:
        chat_id: str = (await response.json())["chat"]["id"]
        return chat_id


async def _measure(base: str, key: str, receiver: str, clients: int, sends: int, idle: int) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {key}"}
    text = {"parts": [{"type": "text", "value": "load"}]}
    # Setup and idle requests use fresh connections: a pooled one the server closed while idle resets.
    setup = aiohttp.ClientSession(base, headers=headers, connector=aiohttp.TCPConnector(force_close=True))
    load = aiohttp.ClientSession(base, headers=headers, connector=aiohttp.TCPConnector(limit=clients + 4))
    async with setup, load, aiohttp.ClientSession() as plain:
        subscription = {"target_url": f"{receiver}/hook", "subscribed_events": ["message.sent", "message.delivered"]}
        async with setup.post("/api/partner/v3/webhook-subscriptions", json=subscription) as response:
            assert response.status == 201, await response.text()
        dms = [await _chat(setup, [new_iphone()]) for _ in range(64)]
        groups = [await _chat(setup, [new_iphone(), new_iphone()]) for _ in range(sends // 25 + 1)]
        sending: list[tuple[str, dict[str, object]]] = [
            (f"/api/partner/v3/chats/{dms[n % 64]}/messages", {"message": text}) for n in range(sends)
        ]
        rows = {"sends": await _load(load, sending, clients)}
        adds: list[tuple[str, dict[str, object]]] = [
            (f"/api/partner/v3/chats/{groups[n // 25]}/participants", {"handle": new_iphone()}) for n in range(sends)
        ]
        rows["adds"] = await _load(load, adds, clients)
        await _drain(receiver, 2 * (sends + 64 + len(groups)))

        await plain.post(f"{receiver}/reset")
        accepted: dict[str, float] = {}
        for n in range(idle):
            async with setup.post(f"/api/partner/v3/chats/{dms[n % 64]}/messages", json={"message": text}) as r:
                accepted[r.headers["x-trace-id"]] = time.time()
            await asyncio.sleep(0.05)
        await _drain(receiver, 2 * idle)
        async with plain.get(f"{receiver}/events") as response:
            received: dict[str, float] = await response.json()
    for event in ("message.sent", "message.delivered"):
        delays = [(received[f"{event} {t}"] - at) * 1000 for t, at in accepted.items() if f"{event} {t}" in received]
        rows[event] = [f"{len(delays)}/{idle}", f"{percentile(delays, 50):.1f}", f"{percentile(delays, 95):.1f}"]
    return rows


async def _drain(receiver: str, count: int) -> None:
    """Wait (up to 2 minutes) until the receiver has ``count`` events."""
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as plain:
        while time.monotonic() < deadline:
            async with plain.get(f"{receiver}/count") as response:
                if int(await response.json()) >= count:
                    return
            await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--idle", type=int, default=100)
    args = parser.parse_args()
    load_rows, webhook_rows = [], []
    receiver_port = free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    with process(["-m", "benchmarks.message_receiver", str(receiver_port)], f"{receiver}/count"):
        for kind in ["sqlite"] + (["postgresql"] if postgres_available() else []):
            with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data:
                key, server_port = generate_api_key(), free_port()
                env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": key, "LINQ_SERVER_PHONE_NUMBERS": LINE,
                       "LINQ_SERVER_DATA_DIR": str(Path(data)), "LINQ_SERVER_LOG_LEVEL": "WARNING",
                       "LINQ_SERVER_MESSAGES_PER_MINUTE": "1000000", "LINQ_SERVER_CARRIER_DELAY_MS": "0"}  # fmt: skip
                base = f"http://127.0.0.1:{server_port}"
                command = ["-m", "linq_server", "serve", "--host", "127.0.0.1", "--port", str(server_port)]
                with process(command, f"{base}/healthz", env={**os.environ, **env}, start_limit=120):
                    rows = asyncio.run(_measure(base, key, receiver, args.clients, args.sends, args.idle))
                load_rows += [[kind, "send", *rows["sends"]], [kind, "participant add", *rows["adds"]]]
                webhook_rows += [[kind, event, *rows[event]] for event in ("message.sent", "message.delivered")]
    print_table(
        f"{args.sends} requests of each kind, {args.clients} concurrent clients (Python aiohttp driver)",
        ["database", "request", "requests/s", "p50 ms", "p95 ms", "p99 ms", "non-202"],
        load_rows,
    )
    print_table("202 → webhook, idle (device latency 0 ms)", ["database", "event", "received", "p50 ms", "p95 ms"],
                webhook_rows)  # fmt: skip


if __name__ == "__main__":
    main()
