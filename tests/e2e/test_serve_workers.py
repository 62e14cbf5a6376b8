"""`linq-server serve --workers N` (PostgreSQL): several API processes on one port, supervised by the one started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from linq_server.processes import STARTED_WELL_SECONDS
from tests.support.jobs import settled
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, strict_sdk

POSTGRES_URL = os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="serve --workers needs PostgreSQL")


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    started = ServerProcess(
        fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)], command=("serve", "--workers", "2")
    ).start(timeout=90)
    yield started
    started.stop()


def _children(server: ServerProcess) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@contextmanager
def _subscribed(server: ServerProcess) -> Iterator[tuple[Receiver, str, LinqAPIV3]]:
    """A receiver subscribed to ``participant.added``, its signing secret, and the official client."""
    receiver = Receiver().start()
    sdk = strict_sdk(server)
    try:
        added = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=["participant.added"])
        yield receiver, added.signing_secret, sdk
    finally:
        sdk.close()
        receiver.stop()


def _add_and_announce(server: ServerProcess, receiver: Receiver, secret: str, sdk: LinqAPIV3, count: int) -> None:
    """``count`` concurrent adds into new groups: every one 202, every one announced exactly once."""
    groups = [
        sdk.chats.create(
            from_=server.phone_numbers[0], to=[new_phone(1), new_phone(2)],
            message={"parts": [{"type": "text", "value": "hi"}]},
        ).chat.id
        for _ in range(4)
    ]  # fmt: skip
    handles = [new_phone(1) for _ in range(count)]

    def add(n: int) -> int:
        url = f"{server.base_url}/v3/chats/{groups[n % len(groups)]}/participants"
        headers = {"Authorization": f"Bearer {server.api_key}"}
        return httpx.post(url, json={"handle": handles[n]}, headers=headers, timeout=30).status_code

    before = len(receiver.received)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(add, range(count))) == [202] * count
    hits = receiver.wait_for(before + count, timeout=30)[before:]
    announced = [standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)["data"]["handle"] for hit in hits]
    assert sorted(announced) == sorted(handles)


@needs_postgres
def test_two_processes_serve_one_port_and_every_add_is_announced_once(server: ServerProcess) -> None:
    children = _children(server)
    assert len(children) == 2 and all(_alive(pid) for pid in children)
    with _subscribed(server) as (receiver, secret, sdk):
        _add_and_announce(server, receiver, secret, sdk, 24)
        settled(server.env["LINQ_SERVER_DATABASE_URL"])  # every job finished: nothing more can arrive
        assert len(receiver.received) == 24  # and nothing more: no change announced twice
    assert server.alarms() == []


@needs_postgres
def test_stopping_serve_stops_its_processes(server: ServerProcess) -> None:
    children = _children(server)
    server.stop()
    assert server.process is not None and server.process.returncode == 0
    assert not any(_alive(pid) for pid in children)
    assert server.alarms() == []


@needs_postgres
def test_a_killed_serve_takes_its_processes_with_it(server: ServerProcess) -> None:
    children = _children(server)
    server.kill()
    assert _wait_until(lambda: not any(_alive(pid) for pid in children), within=15)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)


@needs_postgres
def test_a_process_that_dies_after_starting_well_is_replaced_and_the_job_worker_with_it(
    server: ServerProcess,
) -> None:
    """The first process runs the job worker: killed, it is replaced, and a later add is still carried out."""
    time.sleep(STARTED_WELL_SECONDS)
    first, second = _children(server)
    os.kill(first, signal.SIGKILL)
    assert _wait_until(lambda: len(_children(server)) == 2 and first not in _children(server), within=15)
    assert second in _children(server)
    with _subscribed(server) as (receiver, secret, sdk):
        _add_and_announce(server, receiver, secret, sdk, 4)
    assert "starting another" in server.log()


@needs_postgres
@pytest.mark.expects_server_errors
def test_a_process_that_dies_at_once_stops_serve(server: ServerProcess) -> None:
    """A process that cannot stay up would only die again: serve stops everything and exits non-zero."""
    first, second = _children(server)
    os.kill(first, signal.SIGKILL)
    assert server.process is not None
    assert server.process.wait(timeout=20) == 1
    assert _wait_until(lambda: not _alive(second), within=15)
    assert "exited at once" in server.log()


def _refused(tmp_path: Path, database_url: str, clock: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LINQ_SERVER_CLOCK": clock, "LINQ_SERVER_DATA_DIR": str(tmp_path),
                   "LINQ_SERVER_DATABASE_URL": database_url}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "linq_server", "serve", "--port", "0", "--workers", "2"],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_several_processes_are_refused_on_sqlite(tmp_path: Path) -> None:
    done = _refused(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "real")
    assert done.returncode == 2
    assert "--workers needs PostgreSQL" in done.stdout


@needs_postgres
def test_a_manual_clock_cannot_be_shared_by_several_processes(fresh_database_url: str, tmp_path: Path) -> None:
    done = _refused(tmp_path, fresh_database_url, "manual")
    assert done.returncode == 2
    assert "--workers needs real time" in done.stdout
