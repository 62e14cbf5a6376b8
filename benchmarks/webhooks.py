"""Webhook delivery benchmark: deliveries/s to a local receiver and emit→receipt latency when idle.

    python -m benchmarks.webhooks [--events 5000] [--idle-events 200]

Runs on SQLite, and on PostgreSQL when it answers. The worker runs in this process as it does inside
`linq-server serve`; the receiver is a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.support import free_port, fresh_database, percentile, postgres_available, print_table, process
from linq_server.config import Settings
from linq_server.domain import partners, webhook_subscriptions
from linq_server.services import Services, build_services
from linq_server.workers import build_worker

EVENT = "message.sent"


async def _emit(services: Services, partner_id: str, count: int) -> list[tuple[str, float]]:
    """Emit ``count`` events, one transaction each; returns (event id, commit time)."""
    emitted = []
    for _ in range(count):
        async with services.db.write() as conn:
            event_id = await services.emitter.emit(
                conn, event_type=EVENT, data={"n": 1}, partner_id=partner_id, trace_id="0" * 32
            )
        emitted.append((event_id, time.time()))
    return emitted


def _by_webhook_id(base: str) -> dict[str, list[float]]:
    """Receipt times of every delivery so far, by webhook id (a repeated delivery adds a time)."""
    received: dict[str, list[float]] = {}
    for webhook_id, _type, _trace, _chat, _handle, at in httpx.get(f"{base}/deliveries", timeout=30).json():
        received.setdefault(webhook_id, []).append(at)
    return received


async def _wait_for(base: str, expected: set[str], limit: float = 120.0) -> dict[str, list[float]]:
    """Wait until every expected event has arrived (or ``limit`` passes); returns what arrived."""
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if int((await client.get(f"{base}/count")).json()) >= len(expected) and expected <= set(
                _by_webhook_id(base)
            ):
                break
            await asyncio.sleep(0.05)
    return _by_webhook_id(base)


def _lost_and_repeated(expected: set[str], received: dict[str, list[float]]) -> tuple[int, int]:
    return len(expected - set(received)), sum(len(times) - 1 for times in received.values())


async def run(database_url: str, events: int, idle_events: int, receiver_port: int) -> list[str]:
    with tempfile.TemporaryDirectory() as data_dir:
        services = build_services(Settings(database_url=database_url, data_dir=Path(data_dir)))
        worker = build_worker(services)
        worker_task: asyncio.Task[None] | None = None
        base = f"http://127.0.0.1:{receiver_port}"
        try:
            partner = await partners.create_partner(services.db, "bench", ["+12025550100"])
            await webhook_subscriptions.create_subscription(
                services, partner.partner.id, target_url=f"{base}/hook", subscribed_events=[EVENT],
                phone_numbers=None, routing_id_header=None, routing_key_header=None, trace_id="0" * 32,
            )  # fmt: skip

            # Throughput: a backlog of events (written while no worker runs), then drained.
            async with httpx.AsyncClient() as client:
                await client.post(f"{base}/reset")
            backlog: set[str] = set()
            for offset in range(0, events, 500):
                async with services.db.write() as conn:
                    for _ in range(min(500, events - offset)):
                        backlog.add(await services.emitter.emit(
                            conn, event_type=EVENT, data={}, partner_id=partner.partner.id, trace_id="0" * 32
                        ))  # fmt: skip
            started = time.perf_counter()
            worker_task = asyncio.create_task(worker.run())
            received = await _wait_for(base, backlog)
            elapsed = time.perf_counter() - started
            rate = len(backlog.intersection(received)) / elapsed
            backlog_lost, backlog_repeated = _lost_and_repeated(backlog, received)

            # Latency when idle: one event at a time, spaced out.
            async with httpx.AsyncClient() as client:
                await client.post(f"{base}/reset")
            emitted: list[tuple[str, float]] = []
            for _ in range(idle_events):
                emitted += await _emit(services, partner.partner.id, 1)
                await asyncio.sleep(0.02)
            received = await _wait_for(base, {event_id for event_id, _at in emitted})
            latencies = [(received[eid][0] - at) * 1000 for eid, at in emitted if eid in received]
            idle_lost, idle_repeated = _lost_and_repeated({event_id for event_id, _at in emitted}, received)
        finally:
            worker.stop()
            if worker_task:
                await worker_task
            await services.close()
    return [
        f"{rate:,.0f}",
        f"{backlog_lost}/{backlog_repeated}",
        f"{len(latencies)}/{idle_events}",
        f"{percentile(latencies, 50):.1f}",
        f"{percentile(latencies, 95):.1f}",
        f"{percentile(latencies, 99):.1f}",
        f"{idle_lost}/{idle_repeated}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--idle-events", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    kinds = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    rows = []
    with process(["-m", "benchmarks.receiver", str(port)], f"http://127.0.0.1:{port}/count"):
        for kind in kinds:
            with fresh_database(kind) as url:
                rows.append([kind, *asyncio.run(run(url, args.events, args.idle_events, port))])
    print_table(
        f"Webhook delivery ({args.events} backlog events; {args.idle_events} idle events)",
        ["database", "deliveries/s", "lost/dup", "idle delivered", "p50 ms", "p95 ms", "p99 ms", "idle lost/dup"],
        rows,
    )


if __name__ == "__main__":
    main()
