"""Nothing accepted is lost: a kill -9 mid-delivery, and several worker processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest
import standardwebhooks
from linq import LinqAPIV3

from linq_server.config import Settings
from linq_server.domain.partners import generate_api_key
from linq_server.services import build_services
from linq_server.store import jobs as job_store
from tests.conftest import make_partner
from tests.support.groups import group_with_new_members
from tests.support.jobs import settled, settled_async
from tests.support.phones import new_phone
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import ServerProcess, free_port


def test_kill_9_with_the_receiver_down_loses_nothing(fresh_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver(port=free_port())  # not started: the receiver is down
    server = ServerProcess(
        fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)],
        extra_env={"LINQ_SERVER_JOB_LEASE_SECONDS": "3"},
    ).start()  # fmt: skip
    try:
        with LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            watcher = sdk.webhook_subscriptions.create(
                target_url=receiver.url, subscribed_events=["webhook_subscription.created"]
            )
            for n in range(200):  # each creation is one event for the watcher
                sdk.webhook_subscriptions.create(
                    target_url=f"https://example.com/hook/{n}", subscribed_events=["message.sent"]
                )
        server.kill()
        receiver.start()
        server.start()
        receiver.wait_for(201, timeout=60)
        settled(fresh_database_url, within_seconds=60)  # every delivery finished: nothing more can arrive
        hits = list(receiver.received)
    finally:
        server.stop()
        receiver.stop()
    ids = Counter(hit.headers["webhook-id"] for hit in hits)
    assert len(ids) == 201, "an accepted event was lost"
    # The receiver was down at the kill, so no delivery had succeeded: none can arrive twice.
    assert [id_ for id_, count in ids.items() if count > 1] == []
    assert all(hit.headers["x-webhook-subscription-id"] == watcher.id for hit in hits)


@pytest.mark.skipif(not os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL"), reason="scale-out needs PostgreSQL")
@pytest.mark.timeout(600)  # 2000 jobs through two processes: slow on a loaded machine, not hung
def test_two_worker_processes_drain_2000_jobs_each_exactly_once(fresh_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    secret_key = "scale-out-test-key"
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path, secret_key=secret_key)

    async def emit_all() -> None:
        from linq_server.domain import webhook_subscriptions

        services = build_services(settings)
        try:
            partner = await make_partner(services.db)
            await webhook_subscriptions.create_subscription(
                services, partner.id, target_url=receiver.url, subscribed_events=["message.sent"], phone_numbers=None,
                routing_id_header=None, routing_key_header=None, trace_id="0" * 32,
            )  # fmt: skip
            for _batch in range(10):
                async with services.db.write() as conn:
                    for _ in range(200):
                        await services.emitter.emit(
                            conn, event_type="message.sent", data={}, partner_id=partner.id, trace_id="0" * 32
                        )
        finally:
            await services.close()

    workers = [
        ServerProcess(
            fresh_database_url, tmp_path / f"worker-{n}", generate_api_key(), [new_phone(0)],
            command=("worker", "--concurrency", "16"), extra_env={"LINQ_SERVER_SECRET_KEY": secret_key},
        ).start()  # both are listening before the work arrives
        for n in range(2)
    ]  # fmt: skip
    asyncio.run(emit_all())
    try:
        receiver.wait_for(2000, timeout=120)
        asyncio.run(settled_async(fresh_database_url))
    finally:
        for worker in workers:
            worker.stop()
        receiver.stop()
    assert [worker.process.returncode for worker in workers if worker.process] == [0, 0]  # graceful on SIGTERM

    ids = Counter(hit.headers["webhook-id"] for hit in receiver.received)
    assert len(ids) == 2000 and set(ids.values()) == {1}

    async def job_counts() -> tuple[dict[str, int], int]:
        import sqlalchemy as sa

        from linq_server.store.schema import jobs

        services = build_services(settings)
        try:
            async with services.db.read() as conn:
                counts = await job_store.counts_by_status(conn)
                finishers = (await conn.execute(sa.select(sa.func.count(sa.distinct(jobs.c.locked_by))))).scalar_one()
            return counts, int(finishers)
        finally:
            await services.close()

    counts, finishers = asyncio.run(job_counts())
    assert counts == {"done": 2000}
    assert finishers == 2, "both worker processes should have taken part"


@pytest.mark.timeout(180)
def test_work_cut_off_by_kill_9_is_announced_within_10_s_of_the_restart(
    fresh_database_url: str, tmp_path: Path
) -> None:
    hold = 8.0  # each answer is held this long: deliveries still held at the kill were cut off
    receiver = Receiver()
    receiver.default = Answer(delay_seconds=hold)
    receiver.start()
    server = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)]).start()
    try:
        secret, _chat_id, handles = group_with_new_members(server, receiver, 10)
        webhook = standardwebhooks.Webhook(secret)

        def handles_of(hits: list[Received]) -> set[str]:
            return {webhook.verify(hit.body, hit.headers)["data"]["handle"] for hit in hits}

        receiver.wait_for(10, timeout=30)  # every change was applied and its delivery begun
        killed_at = time.time()
        server.kill()
        cut_off = handles_of([hit for hit in receiver.received if hit.at + hold > killed_at])
        receiver.default = Answer()
        server.start()
        restarted_at = time.time()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not handles_of(receiver.received_since(restarted_at)) >= cut_off:
            time.sleep(0.1)
        again = receiver.received_since(restarted_at)
    finally:
        server.stop()
        receiver.stop()
    assert cut_off, "the premise failed: no delivery was in flight at the kill"
    assert handles_of(again) >= cut_off, "cut-off deliveries were not made again"
    assert handles_of(receiver.received) == set(handles)  # every accepted change announced
    last = max(hit.at for hit in again)
    assert last - restarted_at < 10.0, f"the last cut-off delivery came {last - restarted_at:.1f} s after the restart"
