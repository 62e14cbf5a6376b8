"""Participants benchmark: what a user sees adding and removing group members, against a mock and a ceiling.

    python -m benchmarks.participants [--seconds 10] [--groups 1000] [--databases sqlite,postgresql] [--workers 1,2]

In one run, on one machine, wrk (``-t2 -c32``, a new handle per request, round-robin over the groups)
loads, one after the other:
* the bare ceiling: a Starlette route answering the same JSON (``benchmarks/ceiling.py``);
* the framework's floor: the same route in FastAPI with a body model, a bearer-key dependency and a
  trace-id middleware, doing no work (``benchmarks/floor.py``): what linq-server does per add comes on top;
* Prism 5 mocking Linq's own OpenAPI (stateless: it stores nothing);
* the default ``linq-server serve`` (API and job worker in one process) on SQLite and on PostgreSQL,
  with a webhook subscription to a local receiver process (reset between databases); then, on PostgreSQL,
  ``serve --workers 2`` (two API processes on the port, the first also running the job worker) the same way.

It prints, for adds and for removes, the 202s per second (only 202s count), p50/p99, the ratios to
Prism and to the ceiling and the server's CPU per 202; the webhook drain (each 202 matched by its
trace id with its event, within 30 s of the end of the load; lost and duplicate events counted);
202 → webhook latency when idle over every event; and the server's resident memory idle and at peak.
``--profile DIR`` also samples the server with py-spy during the adds (it slows the server down).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.load import (
    WrkResult,
    cpu_seconds,
    load_average,
    openapi_spec,
    peak_rss,
    prism_command,
    require_wrk,
    rss_mb,
    run_wrk,
)
from benchmarks.support import (
    free_port,
    fresh_database,
    percentile,
    postgres_available,
    print_table,
    process,
    start_profile,
    wait_for_no_jobs,
)
from linq_server.domain.partners import generate_api_key

LINE = "+12025550100"
DRAIN_LIMIT = 30.0
EVENTS = ["participant.added", "participant.removed"]
HEADERS = ["server", "change", "202/s", "p50 ms", "p99 ms", "non-202", "x Prism", "of ceiling", "CPU ms/202"]


def _iphone(n: int) -> str:
    """Handles for the setup; wrk's start at +1415."""
    return f"+1628{n:06d}{n % 6}"


def _row(name: str, change: str, result: WrkResult, prism: WrkResult | None, ceiling: WrkResult | None,
         cpu: float | None = None) -> list[str]:  # fmt: skip
    others = result.other + result.errors
    return [
        name, change, f"{result.rate:,.0f}", f"{result.p50_ms:.1f}", f"{result.p99_ms:.1f}",
        f"{others}" + (f" {result.statuses}" if result.statuses else ""),
        f"{result.rate / prism.rate:.2f}" if prism and prism.rate else "-",
        f"{result.rate / ceiling.rate:.0%}" if ceiling and ceiling.rate else "-",
        f"{cpu * 1000 / result.accepted:.2f}" if cpu is not None and result.accepted else "-",
    ]  # fmt: skip


@dataclass
class MockLoads:
    adds: WrkResult
    removes: WrkResult
    adds_cpu: float
    removes_cpu: float


def _mock_load(pid: int, base: str, prefix: str, seconds: int, folder: Path) -> MockLoads:
    """Adds then removes against a stateless server (the ceiling, the floor, Prism): any uuid, any handle."""
    chats = folder / "mock-chats.txt"
    chats.write_text("".join(f"{uuid.uuid4()}\n" for _ in range(1000)))
    key = generate_api_key()
    cpu = cpu_seconds(pid)
    adds = run_wrk(base, "POST", chats, key=key, prefix=prefix, pairs=False, seconds=seconds)
    adds_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
    removes = run_wrk(base, "DELETE", chats, key=key, prefix=prefix, pairs=False, seconds=seconds)
    return MockLoads(adds, removes, adds_cpu, cpu_seconds(pid) - cpu)


async def _setup(base: str, key: str, receiver: str, groups: int) -> list[str]:
    """Subscribe the receiver to participant events and make ``groups`` groups of three; returns their ids."""
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:
        async with session.post(
            "/api/partner/v3/webhook-subscriptions",
            json={"target_url": f"{receiver}/hook", "subscribed_events": EVENTS},
        ) as response:
            assert response.status == 201, await response.text()
        ids: list[str] = []
        serial = iter(range(1, 10 * groups))

        async def make(count: int) -> None:
            for _ in range(count):
                body = {"from": LINE, "to": [_iphone(next(serial)), _iphone(next(serial))],
                        "message": {"parts": [{"type": "text", "value": "hi"}]}}  # fmt: skip
                async with session.post("/api/partner/v3/chats", json=body) as response:
                    assert response.status == 201, await response.text()
                    ids.append((await response.json())["chat"]["id"])

        await asyncio.gather(*(make(groups // 8 + (n < groups % 8)) for n in range(8)))
    return ids


def _deliveries(receiver: str) -> list[list[Any]]:
    found: list[list[Any]] = httpx.get(f"{receiver}/deliveries", timeout=30).json()
    return found


def _drain(receiver: str, event: str, accepted: set[str], ended: float) -> tuple[list[str], list[list[Any]]]:
    """Wait (≤ 30 s after ``ended``) until every accepted trace id has its ``event``; returns the drain row."""
    while True:
        events = [d for d in _deliveries(receiver) if d[1] == event]
        if accepted <= {d[2] for d in events} or time.monotonic() - ended > DRAIN_LIMIT:
            break
        time.sleep(0.2)
    waited = time.monotonic() - ended
    per_trace = Counter(d[2] for d in events)
    per_delivery = Counter(d[0] for d in events)
    lost = len(accepted - set(per_trace))
    repeated = sum(n - 1 for n in per_trace.values()) + sum(n - 1 for n in per_delivery.values())
    in_flight = len(set(per_trace) - accepted)  # accepted by the server as wrk stopped, so never counted
    row = [str(len(accepted)), f"{len(accepted) - lost}", f"{waited:.1f}", str(lost), str(repeated), str(in_flight)]
    return row, events


async def _idle_latency(base: str, key: str, receiver: str, groups: list[str], count: int) -> list[str]:
    """One add at a time: 202 → participant.added, over every event (waits for all, ≤ 30 s)."""
    async with aiohttp.ClientSession() as plain:
        await plain.post(f"{receiver}/reset")
    sent: dict[str, float] = {}
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {key}"}) as session:
        for n in range(count):
            url = f"/api/partner/v3/chats/{groups[n % len(groups)]}/participants"
            async with session.post(url, json={"handle": _iphone(900_000 + n)}) as response:
                assert response.status == 202, await response.text()
                sent[(await response.json())["trace_id"]] = time.time()
            await asyncio.sleep(0.03)
    _row_, events = _drain(receiver, "participant.added", set(sent), time.monotonic())
    first: dict[str, float] = {}
    for delivery in events:
        first.setdefault(delivery[2], delivery[5])
    delays = [(first[trace] - at) * 1000 for trace, at in sent.items() if trace in first]
    lost, repeated = _row_[3], _row_[4]
    return [f"{len(delays)}/{count}", *(f"{percentile(delays, p):.1f}" for p in (50, 95, 99)), lost, repeated]


def _linq_server(kind: str, workers: int, args: argparse.Namespace, receiver: str, folder: Path) -> dict[str, Any]:
    """Start `linq-server serve --workers N` (1: the default) on a fresh ``kind`` database and measure it."""
    httpx.post(f"{receiver}/reset")
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as data:
        key, port = generate_api_key(), free_port()
        env = {"LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": key, "LINQ_SERVER_PHONE_NUMBERS": LINE,
               "LINQ_SERVER_DATA_DIR": data}  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        command = ["-m", "linq_server", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        with process(command, f"{base}/healthz", env=env, start_limit=120) as server:
            groups = asyncio.run(_setup(base, key, receiver, args.groups))
            chats = folder / f"{kind}-chats.txt"
            chats.write_text("".join(f"{chat}\n" for chat in random.sample(groups, len(groups))))
            wait_for_no_jobs(url)  # the setup's messages and webhooks are done before anything is measured
            httpx.post(f"{receiver}/reset")
            idle_mb = rss_mb(server.pid)
            measured: dict[str, Any] = {"idle_mb": idle_mb}
            with peak_rss(server.pid) as peak:
                profiler = start_profile(server.pid, args.profile, f"{kind}-{workers}", args.seconds)
                traces = folder / f"{kind}-add-traces.txt"
                cpu = cpu_seconds(server.pid)
                adds = run_wrk(base, "POST", chats, key=key, prefix="/api/partner", pairs=False,
                               seconds=args.seconds, traces=traces)  # fmt: skip
                measured["adds_cpu"] = cpu_seconds(server.pid) - cpu
                ended = time.monotonic()
                if profiler:
                    profiler.wait(timeout=args.seconds + 60)
                accepted = set(traces.read_text().split())
                measured["adds_drain"], added = _drain(receiver, "participant.added", accepted, ended)
                pairs = folder / f"{kind}-pairs.txt"
                unique = {(d[3], d[4]) for d in added}
                shuffled = random.sample(sorted(unique), len(unique))
                pairs.write_text("".join(f"{chat} {handle}\n" for chat, handle in shuffled))
                traces = folder / f"{kind}-remove-traces.txt"
                cpu = cpu_seconds(server.pid)
                removes = run_wrk(base, "DELETE", pairs, key=key, prefix="/api/partner", pairs=True,
                                  seconds=args.seconds, traces=traces)  # fmt: skip
                measured["removes_cpu"] = cpu_seconds(server.pid) - cpu
                ended = time.monotonic()
                accepted = set(traces.read_text().split())
                measured["removes_drain"], _events = _drain(receiver, "participant.removed", accepted, ended)
            measured.update(adds=adds, removes=removes, peak_mb=peak[0])
            measured["idle"] = asyncio.run(_idle_latency(base, key, receiver, groups, args.idle))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration for each load")
    # 600 groups hold 17,400 adds (29 each): too few for 10 s at the 2 x Prism target.
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=100, help="adds sent one at a time for the idle latency")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="serve's --workers values to measure (1: the default)")
    parser.add_argument("--profile", type=Path, help="write py-spy raw profiles of the adds here")
    args = parser.parse_args()
    require_wrk()
    openapi_spec()
    kinds = [kind for kind in args.databases.split(",") if kind != "postgresql" or postgres_available()]
    started_load = load_average()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        port = free_port()
        with process(["-m", "benchmarks.ceiling", str(port)], f"http://127.0.0.1:{port}/healthz") as server:
            ceiling = _mock_load(server.pid, f"http://127.0.0.1:{port}", "/api/partner", args.seconds, folder)
        port = free_port()
        with process(["-m", "benchmarks.floor", str(port)], f"http://127.0.0.1:{port}/healthz") as server:
            floor = _mock_load(server.pid, f"http://127.0.0.1:{port}", "/api/partner", args.seconds, folder)
        port = free_port()
        with process(prism_command(port), f"http://127.0.0.1:{port}/", python=False, start_limit=120) as server:
            prism = _mock_load(server.pid, f"http://127.0.0.1:{port}", "", args.seconds, folder)
        servers: dict[str, dict[str, Any]] = {}
        receiver_port = free_port()
        receiver = f"http://127.0.0.1:{receiver_port}"
        with process(["-m", "benchmarks.receiver", str(receiver_port)], f"{receiver}/count"):
            for workers in [int(n) for n in args.workers.split(",")]:
                for kind in [kind for kind in kinds if workers == 1 or kind == "postgresql"]:  # --workers: PostgreSQL
                    label = kind if workers == 1 else f"{kind}, --workers {workers}"
                    servers[label] = _linq_server(kind, workers, args, receiver, folder)

    rows = [
        row
        for name, loads in [
            ("bare Starlette (ceiling)", ceiling), ("FastAPI route, no work (floor)", floor),
            ("Prism 5 (stateless mock)", prism),
        ]
        for row in (
            _row(name, "add", loads.adds, prism.adds, ceiling.adds, loads.adds_cpu),
            _row(name, "remove", loads.removes, prism.removes, ceiling.removes, loads.removes_cpu),
        )
    ]  # fmt: skip
    for kind, measured in servers.items():
        name = f"linq-server, {kind}"
        rows.append(_row(name, "add", measured["adds"], prism.adds, ceiling.adds, measured["adds_cpu"]))
        rows.append(_row(name, "remove", measured["removes"], prism.removes, ceiling.removes, measured["removes_cpu"]))
    title = f"Participant changes: wrk -t2 -c32 -d{args.seconds}s, {args.groups} groups (load {started_load})"
    print_table(title, HEADERS, rows)
    print_table(
        f"Webhook drain: every 202 matched with its event by trace id, within {DRAIN_LIMIT:.0f} s of the end",
        ["server", "change", "202s", "delivered", "waited s", "lost", "duplicates", "in flight at stop"],
        [[kind, change, *m[f"{change}s_drain"]] for kind, m in servers.items() for change in ("add", "remove")],
    )
    print_table(
        f"202 → participant.added webhook, one add at a time ({args.idle} adds)",
        ["server", "delivered", "p50 ms", "p95 ms", "p99 ms", "lost", "duplicates"],
        [[kind, *m["idle"]] for kind, m in servers.items()],
    )
    print_table(
        "Resident memory of `linq-server serve` (all its processes)",
        ["server", "idle MB", "peak MB under load"],
        [[kind, f"{m['idle_mb']:.0f}", f"{m['peak_mb']:.0f}"] for kind, m in servers.items()],
    )
    print(f"load average: {started_load} at the start, {load_average()} at the end; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
