"""Faults live in the database: two server processes sharing it apply the same rules and share their counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from linq_server.domain.partners import generate_api_key
from tests.support.phones import new_phone
from tests.support.server import ServerProcess


@pytest.fixture
def two_servers(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    key, lines = generate_api_key(), [new_phone(0)]
    first = ServerProcess(fresh_database_url, tmp_path / "data", key, lines)
    second = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("serve", "--no-worker"))
    try:
        # Started in turn (each migrates first); a cold start on a loaded machine can take a while.
        first.start(timeout=120)
        second.start(timeout=120)
        yield first, second
    finally:
        second.stop()
        first.stop()


def test_two_processes_apply_one_partners_faults_and_share_their_count(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two_servers
    headers = {"Authorization": f"Bearer {first.api_key}"}
    rule = {"method": "GET", "path": "/v3/phone_numbers", "status": 503, "times": 3}
    put = httpx.put(f"http://127.0.0.1:{first.port}/sandbox/faults", json={"rules": [rule]}, headers=headers)
    assert put.status_code == 200, put.text

    statuses = [
        httpx.get(f"{server.base_url}/v3/phone_numbers", headers=headers).status_code
        for server in (second, first, second, first, second, first)
    ]
    assert statuses == [503, 503, 503, 200, 200, 200]
    remaining = httpx.get(f"http://127.0.0.1:{second.port}/sandbox/faults", headers=headers).json()
    assert remaining["rules"][0]["remaining"] == 0
