"""Messages benchmark: concurrent sends beside participant adds, and accept → webhook latency when idle.

    python -m benchmarks.messages [--seconds 5] [--groups 300] [--idle 100] [--databases sqlite,postgresql]
                                  [--workers 1,2] [--profile DIR]

For each database (PostgreSQL when it answers), and on PostgreSQL for each ``--workers`` value (``serve
--workers 2``: two API processes on the port, the first also running the job worker), it starts a real
`linq-server serve` (the per-pair rate limit raised, network delay 0 ms so the simulated network's own
latency is not measured) with a webhook subscription to ``benchmarks/receiver.py`` (message.sent,
message.delivered, participant.added), then:
* wrk (``-t2 -c32``) sends text messages round-robin into 64 DMs: 202s/s and p50/p99;
* wrk, the same way, adds participants to groups (the rate sends should at least match);
  each load starts once every webhook of what came before it was received;
* idle, one send at a time: p50/p95 from the 202 to ``message.sent`` and to ``message.delivered``,
  matched by trace id.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.load import WrkResult, cpu_seconds, load_average, require_wrk, run_wrk
from benchmarks.support import (
    free_port,
    fresh_database,
    percentile,
    postgres_available,
    print_table,
    process,
    start_profile,
)
from linq_server.domain.partners import generate_api_key

LINE = "+12025550100"
DMS = 64
EVENTS = ["message.sent", "message.delivered"]
# The adds carry their webhook too, as in benchmarks/participants.py: each load pays for what it announces.
SUBSCRIBED = [*EVENTS, "participant.added"]
TEXT = {"parts": [{"type": "text", "value": "hi"}]}


def _iphone(n: int) -> str:
    """Handles for the setup; wrk's adds start at +1415."""
    return f"+1628{n:06d}{n % 6}"


async def _setup(base: str, key: str, receiver: str, groups: int) -> tuple[list[str], list[str]]:
    """Subscribe the receiver to message events; make the DMs and groups of three; returns their ids."""
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {key}"}) as session:
        subscription = {"target_url": f"{receiver}/hook", "subscribed_events": SUBSCRIBED}
        async with session.post("/api/partner/v3/webhook-subscriptions", json=subscription) as response:
            assert response.status == 201, await response.text()
        serial = iter(range(1, 10 * (groups + DMS)))
        made: dict[int, list[str]] = {1: [], 2: []}

        async def make(size: int, count: int) -> None:
            for _ in range(count):
                body = {"from": LINE, "to": [_iphone(next(serial)) for _ in range(size)], "message": TEXT}
                async with session.post("/api/partner/v3/chats", json=body) as response:
                    assert response.status == 201, await response.text()
                    made[size].append((await response.json())["chat"]["id"])

        await asyncio.gather(*(make(1, DMS // 8) for _ in range(8)))
        await asyncio.gather(*(make(2, groups // 8 + (n < groups % 8)) for n in range(8)))
    return made[1], made[2]


def _row(
    kind: str, request: str, result: WrkResult, cpu: tuple[float, float], seconds: int, drained: float
) -> list[str]:
    """A load's row: 202s per second during the load, and counting the time until their webhooks were all in
    (a server that leaves work for later looks faster by the first alone); the server's CPU (the worker's
    share included) per 202 during the load, and in all, from its start until the last webhook."""
    during, in_all = cpu
    others = result.other + result.errors
    per_202 = 1000 / max(1, result.accepted)
    return [kind, request, f"{result.rate:,.0f}", f"{result.rate * seconds / (seconds + drained):,.0f}",
            f"{result.p50_ms:.1f}", f"{result.p99_ms:.1f}",
            f"{others}" + (f" {result.statuses}" if result.statuses else ""),
            f"{per_202 * during:.2f}", f"{per_202 * in_all:.2f}", f"{during / seconds:.2f}"]  # fmt: skip


async def _idle_latency(base: str, key: str, receiver: str, dms: list[str], count: int) -> dict[str, list[str]]:
    """One send at a time, the next only once the last one's own webhooks are in (or after 5 s), so each send
    meets an idle server: 202 → each event, matched by trace id (a straggler of the load is not counted)."""
    accepted: dict[str, float] = {}
    deliveries: list[list[Any]] = []
    async with aiohttp.ClientSession() as plain, plain.post(f"{receiver}/reset"):
        pass
    async with (
        aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {key}"}) as session,
        aiohttp.ClientSession() as plain,
    ):
        for n in range(count):
            url = f"/api/partner/v3/chats/{dms[n % len(dms)]}/messages"
            async with session.post(url, json={"message": TEXT}) as response:
                assert response.status == 202, await response.text()
                trace = response.headers["x-trace-id"]
                accepted[trace] = time.time()
            deadline = time.monotonic() + 5
            while {d[1] for d in deliveries if d[2] == trace} != set(EVENTS) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
                async with plain.get(f"{receiver}/deliveries") as response:
                    deliveries = await response.json()
        async with plain.get(f"{receiver}/deliveries") as response:
            deliveries = await response.json()
    rows: dict[str, list[str]] = {}
    for event in EVENTS:
        first: dict[str, float] = {}
        for delivery in deliveries:
            if delivery[1] == event:
                first.setdefault(delivery[2], delivery[5])
        delays = [(first[trace] - at) * 1000 for trace, at in accepted.items() if trace in first]
        rows[event] = [f"{len(delays)}/{count}", *(f"{percentile(delays, p):.1f}" for p in (50, 95))]
    strays = len({d[2] for d in deliveries} - set(accepted))
    rows["strays"] = [str(strays)]
    return rows


def _linq_server(kind: str, workers: int, args: argparse.Namespace, receiver: str, folder: Path) -> dict[str, Any]:
    """Start `linq-server serve --workers N` on a fresh ``kind`` database and measure it."""
    httpx.post(f"{receiver}/reset")
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data:
        key, port = generate_api_key(), free_port()
        env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": key, "LINQ_SERVER_PHONE_NUMBERS": LINE,
               "LINQ_SERVER_DATA_DIR": data, "LINQ_SERVER_LOG_LEVEL": "WARNING",
               "LINQ_SERVER_MESSAGES_PER_MINUTE": "1000000", "LINQ_SERVER_CARRIER_DELAY_MS": "0"}  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        command = ["-m", "linq_server", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        with process(command, f"{base}/healthz", env={**os.environ, **env}, start_limit=120) as server:
            dms, groups = asyncio.run(_setup(base, key, receiver, args.groups))
            dm_file, group_file = folder / f"{kind}-dms.txt", folder / f"{kind}-groups.txt"
            # The setup's own webhooks (each new chat's first message) go out before any load starts.
            expected = len(EVENTS) * (len(dms) + len(groups))
            _drain(receiver, expected)
            dm_file.write_text("".join(f"{chat}\n" for chat in dms))
            group_file.write_text("".join(f"{chat}\n" for chat in random.sample(groups, len(groups))))
            profiler = start_profile(server.pid, args.profile, f"{kind}-{workers}", args.seconds)
            cpu = cpu_seconds(server.pid)
            sends = run_wrk(base, "POST", dm_file, key=key, prefix="/api/partner", pairs=False,
                            seconds=args.seconds, mode="messages")  # fmt: skip
            sends_cpu = cpu_seconds(server.pid) - cpu
            if profiler:
                profiler.wait(timeout=args.seconds + 60)
            # Every message sent and delivered before the adds start, so neither load pays for the other.
            expected += len(EVENTS) * sends.accepted
            drained = _drain(receiver, expected)
            sends_all_cpu = cpu_seconds(server.pid) - cpu
            cpu = cpu_seconds(server.pid)
            adds = run_wrk(base, "POST", group_file, key=key, prefix="/api/partner", pairs=False, seconds=args.seconds)
            adds_cpu = cpu_seconds(server.pid) - cpu
            # The adds' participant.added go out before the idle reading.
            adds_drained = _drain(receiver, expected + adds.accepted)
            adds_all_cpu = cpu_seconds(server.pid) - cpu
            idle = asyncio.run(_idle_latency(base, key, receiver, dms, args.idle))
    return {
        "sends": sends,
        "adds": adds,
        "idle": idle,
        "sends_drained": drained,
        "adds_drained": adds_drained,
        "sends_cpu": (sends_cpu, sends_all_cpu),
        "adds_cpu": (adds_cpu, adds_all_cpu),
    }


def _drain(receiver: str, count: int) -> float:
    """Wait (≤ 60 s) until the receiver holds ``count`` deliveries and no more arrive for 0.5 s (wrk does not
    count the requests still in flight when it stops); returns the seconds until the last one came."""
    started = time.monotonic()
    last_change, held = started, -1
    while time.monotonic() - started < 60:
        now_held = httpx.get(f"{receiver}/count", timeout=30).json()
        if now_held != held:
            last_change, held = time.monotonic(), now_held
        elif held >= count and time.monotonic() - last_change >= 0.5:
            break
        time.sleep(0.1)
    return last_change - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration for each load")
    # Each group takes 29 adds: 300 hold 8,700, enough for 5 s at the participant-add rate seen so far.
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--idle", type=int, default=100, help="sends one at a time for the idle latency")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="serve's --workers values to measure (1: the default)")
    parser.add_argument("--profile", type=Path, help="write py-spy raw profiles of the sends here")
    args = parser.parse_args()
    require_wrk()
    kinds = [kind for kind in args.databases.split(",") if kind != "postgresql" or postgres_available()]
    started_load = load_average()
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        receiver_port = free_port()
        receiver = f"http://127.0.0.1:{receiver_port}"
        with process(["-m", "benchmarks.receiver", str(receiver_port)], f"{receiver}/count"):
            for workers in [int(n) for n in args.workers.split(",")]:
                for kind in [kind for kind in kinds if workers == 1 or kind == "postgresql"]:  # --workers: PostgreSQL
                    label = kind if workers == 1 else f"{kind}, --workers {workers}"
                    measured[label] = _linq_server(kind, workers, args, receiver, Path(scratch))
    print_table(
        f"wrk -t2 -c32 -d{args.seconds}s: sends into {DMS} DMs, participant adds into {args.groups} groups "
        f"(load {started_load})",
        ["server", "request", "202/s", "with webhooks", "p50 ms", "p99 ms", "non-202", "CPU ms/202", "in all",
         "cores"],
        [_row(kind, request, m[key], m[f"{key}_cpu"], args.seconds, m[f"{key}_drained"])
         for kind, m in measured.items() for request, key in (("send", "sends"), ("participant add", "adds"))],
    )  # fmt: skip
    print_table(
        "Webhooks drained after each load (message.sent + message.delivered per send, participant.added per add)",
        ["server", "after the sends: s (limit 60)", "after the adds: s (limit 60)"],
        [[kind, f"{m['sends_drained']:.1f}", f"{m['adds_drained']:.1f}"] for kind, m in measured.items()],
    )
    print_table(
        f"202 → webhook, one send at a time ({args.idle} sends, network delay 0 ms)",
        ["server", "event", "received", "p50 ms", "p95 ms"],
        [[kind, event, *m["idle"][event]] for kind, m in measured.items() for event in EVENTS],
    )
    for kind, m in measured.items():
        print(f"{kind}: {m['idle']['strays'][0]} traces of the load's webhooks arrived during the idle reading")
    print(f"load average: {started_load} at the start, {load_average()} at the end; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
