"""Several `linq-server serve` processes on one database: they start together, and share the work."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from linq_server.store import jobs
from linq_server.store.database import Database
from linq_server.vocabulary import JobStatus
from tests.support.databases import DatabaseFactory
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


def _servers(url: str, data: Path, count: int, env: dict[str, str] | None = None) -> list[ServerProcess]:
    """``count`` servers of one deployment: one database, one data folder (so one server key), one API key."""
    key, lines = generate_api_key(), [new_phone(0)]
    return [ServerProcess(url, data, key, lines, extra_env=env) for _ in range(count)]


def _stop(servers: list[ServerProcess]) -> None:
    for server in servers:
        server.stop()


def test_four_servers_started_at_once_on_a_fresh_database_all_serve(databases: DatabaseFactory, tmp_path: Path) -> None:
    servers = _servers(databases.empty(), tmp_path / "data", 4)
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_healthy(timeout=90)
        for server in servers:
            answer = httpx.get(
                f"{server.base_url}/v3/phone_numbers", headers={"Authorization": f"Bearer {server.api_key}"}
            )
            assert answer.status_code == 200, answer.text
            assert [line["phone_number"] for line in answer.json()["phone_numbers"]] == server.phone_numbers
    finally:
        _stop(servers)
    for server in servers:
        assert "Traceback" not in server.log(), server.log()


async def _jobs_in_progress(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as conn:
            counts = await jobs.counts_by_status(conn)
    finally:
        await db.close()
    return counts.get(JobStatus.QUEUED, 0) + counts.get(JobStatus.RUNNING, 0)


def test_the_same_add_sent_to_two_servers_is_applied_and_announced_once(
    fresh_database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver().start()
    # The network takes 3 s to apply a change, so the second add always finds the first still queued.
    env = {"LINQ_SERVER_CARRIER_DELAY_MS": "3000"}
    first, _second = servers = _servers(fresh_database_url, tmp_path / "data", 2, env)
    try:
        for server in servers:
            server.start(timeout=90)
        sdk = LinqAPIV3(api_key=first.api_key, base_url=first.base_url, _strict_response_validation=True)
        sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=["participant.added"])
        group = sdk.chats.create(
            from_=first.phone_numbers[0], to=[new_phone(1), new_phone(2)],
            message={"parts": [{"type": "text", "value": "hi"}]},
        ).chat.id  # fmt: skip
        carol = new_phone(3)

        def add(server: ServerProcess) -> int:
            url = f"{server.base_url}/v3/chats/{group}/participants"
            headers = {"Authorization": f"Bearer {server.api_key}"}
            return httpx.post(url, json={"handle": carol}, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(add, servers))
        assert statuses == [202, 202]  # the same add, queued once: the second is answered as the first

        deadline = time.monotonic() + 30
        while asyncio.run(_jobs_in_progress(fresh_database_url)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert asyncio.run(_jobs_in_progress(fresh_database_url)) == 0
        added = [hit for hit in receiver.received if hit.headers["x-webhook-event"] == "participant.added"]
        assert len(added) == 1
        handles = [h.handle for h in sdk.chats.retrieve(group).handles if h.status == "active"]
        assert handles.count(carol) == 1
        sdk.close()
    finally:
        _stop(servers)
        receiver.stop()
