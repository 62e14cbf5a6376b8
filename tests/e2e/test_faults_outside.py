"""Faults outside the server: PostgreSQL restarted under load and stopped for a while, a webhook receiver
that hangs. Every 202 is applied and announced once, without restarting linq-server."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import standardwebhooks

from linq_server.domain.partners import generate_api_key
from tests.support.jobs import settled
from tests.support.phones import new_phone
from tests.support.postgres_cluster import PostgresCluster, postgres_binaries
from tests.support.receiver import Answer, Receiver
from tests.support.server import ServerProcess, strict_sdk

needs_postgres = pytest.mark.skipif(
    not os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL") or postgres_binaries() is None,
    reason="restarts a PostgreSQL cluster of its own",
)
GROUPS = 40
# New members a group of three can take before the documented maximum of 32.
ROOM_PER_GROUP = 28


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    own = PostgresCluster().start()
    yield own
    own.remove()


class AddLoad:
    """Adds new handles to groups from two threads, about 60 a second, until stopped or the groups are full."""

    def __init__(self, server: ServerProcess, groups: list[str]) -> None:
        self.server = server
        self.groups = groups
        self.accepted: dict[str, float] = {}  # handle -> when its 202 arrived
        self.statuses: Counter[int] = Counter()
        self.refusals: list[httpx.Response] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def start(self) -> AddLoad:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.server.api_key}"}
        with httpx.Client(timeout=30) as client:
            while not self._stopping.is_set():
                with self._lock:
                    n, self._next = self._next, self._next + 1
                if n >= len(self.groups) * ROOM_PER_GROUP:
                    return
                handle = new_phone(1)
                url = f"{self.server.base_url}/v3/chats/{self.groups[n % len(self.groups)]}/participants"
                try:
                    answer = client.post(url, json={"handle": handle}, headers=headers)
                except httpx.TransportError:
                    self.statuses[0] += 1
                    continue
                with self._lock:
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 202:
                        self.accepted[handle] = time.time()
                    else:
                        self.refusals.append(answer)
                time.sleep(0.03)


def _readiness(server: ServerProcess) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5).status_code
    except httpx.TransportError:
        return 0


def _wait_for_readiness(server: ServerProcess, status: int, within: float) -> None:
    deadline = time.monotonic() + within
    while _readiness(server) != status:
        assert time.monotonic() < deadline, f"/readyz did not answer {status} within {within} s"
        time.sleep(0.2)


def _groups(server: ServerProcess, count: int) -> list[str]:
    with strict_sdk(server) as sdk:
        return [
            sdk.chats.create(
                from_=server.phone_numbers[0], to=[new_phone(1), new_phone(2)],
                message={"parts": [{"type": "text", "value": "hi"}]},
            ).chat.id
            for _ in range(count)
        ]  # fmt: skip


def _announced(receiver: Receiver, secret: str, event_type: str) -> list[str]:
    """The handles announced to ``receiver``, signatures verified."""
    webhook = standardwebhooks.Webhook(secret)
    payloads = [webhook.verify(hit.body, hit.headers) for hit in list(receiver.received)]
    return [p["data"]["handle"] for p in payloads if p["event_type"] == event_type]


def _ride_out_a_restart_and_a_stop(cluster: PostgresCluster, api: ServerProcess) -> None:
    receiver = Receiver().start()
    try:
        with strict_sdk(api) as sdk:
            secret = sdk.webhook_subscriptions.create(
                target_url=receiver.url, subscribed_events=["participant.added"]
            ).signing_secret
        load = AddLoad(api, _groups(api, GROUPS)).start()
        time.sleep(3)
        cluster.restart()  # under load
        time.sleep(3)
        cluster.stop()  # and away for a while
        _wait_for_readiness(api, 503, within=10)
        time.sleep(5)
        assert _readiness(api) == 503
        cluster.start()
        _wait_for_readiness(api, 200, within=30)
        time.sleep(3)
        load.stop()
        settled(cluster.url, within_seconds=60)
        announced = _announced(receiver, secret, "participant.added")
    finally:
        receiver.stop()
    assert set(load.statuses) <= {202, 503}, load.statuses  # never a 500, never a dropped connection
    assert load.statuses[202] > 200 and load.statuses[503] > 0, load.statuses
    refusal = load.refusals[0]
    assert refusal.headers["retry-after"] == "5"
    assert refusal.json()["error"]["code"] == 3001 and refusal.json()["success"] is False
    assert "trace_id" in refusal.json()
    duplicates = [handle for handle, count in Counter(announced).items() if count > 1]
    assert duplicates == []
    assert sorted(set(load.accepted) - set(announced)) == [], "accepted adds were never announced"


@needs_postgres
@pytest.mark.timeout(240)
@pytest.mark.parametrize("command", [("serve",), ("serve", "--workers", "2")], ids=["one process", "workers 2"])
def test_serve_rides_out_a_postgresql_restart_and_stop(
    cluster: PostgresCluster, tmp_path: Path, command: tuple[str, ...]
) -> None:
    api = ServerProcess(cluster.url, tmp_path / "data", generate_api_key(), [new_phone(0)], command=command).start()
    try:
        _ride_out_a_restart_and_a_stop(cluster, api)
    finally:
        api.stop()


@needs_postgres
@pytest.mark.timeout(240)
def test_a_separate_worker_rides_out_a_postgresql_restart_and_stop(cluster: PostgresCluster, tmp_path: Path) -> None:
    key, lines = generate_api_key(), [new_phone(0)]
    api = ServerProcess(cluster.url, tmp_path / "data", key, lines, command=("serve", "--no-worker")).start()
    worker = ServerProcess(cluster.url, tmp_path / "data", key, lines, command=("worker",)).start()
    try:
        _ride_out_a_restart_and_a_stop(cluster, api)
        assert worker.process is not None and worker.process.poll() is None, "the worker process ended"
    finally:
        api.stop()
        worker.stop()


@pytest.mark.timeout(180)
def test_a_hanging_receiver_does_not_hold_up_a_healthy_one(fresh_database_url: str, tmp_path: Path) -> None:
    hanging, healthy = Receiver(), Receiver()
    hanging.default = Answer(delay_seconds=60)
    hanging.start()
    healthy.start()
    api = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)]).start()
    try:
        with strict_sdk(api) as sdk:
            sdk.webhook_subscriptions.create(target_url=hanging.url, subscribed_events=["participant.added"])
            secret = sdk.webhook_subscriptions.create(
                target_url=healthy.url, subscribed_events=["participant.added"]
            ).signing_secret
        load = AddLoad(api, _groups(api, 12))
        load.start()
        time.sleep(10)
        load.stop()
        healthy.wait_for(len(load.accepted), timeout=10)
        webhook = standardwebhooks.Webhook(secret)
        arrived = {webhook.verify(hit.body, hit.headers)["data"]["handle"]: hit.at for hit in list(healthy.received)}
    finally:
        api.kill()  # not its shutdown under test: a graceful stop would wait out the hanging POSTs
        hanging.stop()
        healthy.stop()
    assert load.statuses[202] >= 150 and set(load.statuses) == {202}, load.statuses
    assert len(hanging.received) > 0  # the hanging receiver was sent to, and held its connections
    assert sorted(arrived) == sorted(load.accepted)
    delays = sorted(arrived[handle] - accepted_at for handle, accepted_at in load.accepted.items())
    p95 = statistics.quantiles(delays, n=20)[-1]
    assert p95 < 1.0, f"202 -> webhook p95 {p95:.2f} s at the healthy receiver while the other hangs"


def test_readiness_needs_a_job_worker_that_checked_in(fresh_database_url: str, tmp_path: Path) -> None:
    key, lines = generate_api_key(), [new_phone(0)]
    api = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("serve", "--no-worker")).start()
    try:
        refused = httpx.get(f"http://127.0.0.1:{api.port}/readyz", timeout=5)
        assert refused.status_code == 503
        assert refused.json() == {"status": "unavailable", "reasons": ["no job worker has checked in"]}
        assert httpx.get(f"http://127.0.0.1:{api.port}/healthz", timeout=5).status_code == 200  # alive all the same
        worker = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("worker",)).start()
        try:
            _wait_for_readiness(api, 200, within=10)
        finally:
            worker.stop()
        _wait_for_readiness(api, 503, within=10)  # a worker that stops checks out
    finally:
        api.stop()
