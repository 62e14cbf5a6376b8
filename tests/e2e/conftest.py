from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from tests.support import server as server_processes
from tests.support.phones import new_phone
from tests.support.server import ServerProcess, strict_sdk


@pytest.fixture(autouse=True)
def clean_server_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose server or worker processes logged a traceback or an ERROR it did not ask for.

    Opt out with ``@pytest.mark.expects_server_errors`` in a test that provokes them on purpose.
    """
    server_processes.started.clear()
    yield
    processes, server_processes.started[:] = list(server_processes.started), []
    if request.node.get_closest_marker("expects_server_errors"):
        return
    alarms = {" ".join(process.command): process.alarms() for process in processes if process.alarms()}
    assert not alarms, f"unexpected errors in the server logs: {alarms}"


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0), new_phone(0)])
    process.start()
    yield process
    process.stop()


@pytest.fixture
def sdk(server: ServerProcess) -> Iterator[LinqAPIV3]:
    with strict_sdk(server) as client:
        yield client
