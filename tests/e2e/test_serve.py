"""The real ``linq-server serve`` process, called through the official SDK."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from linq import AuthenticationError, LinqAPIV3

from tests.support.server import ServerProcess


def test_sdk_lists_the_configured_lines(server: ServerProcess, sdk: LinqAPIV3) -> None:
    current = sdk.phone_numbers.list()
    assert [line.phone_number for line in current.phone_numbers] == server.phone_numbers
    assert all(line.reputation.status == "HEALTHY" for line in current.phone_numbers)
    with pytest.warns(DeprecationWarning):
        legacy = sdk.phonenumbers.list()
    assert [line.phone_number for line in legacy.phone_numbers] == server.phone_numbers
    assert [line.id for line in legacy.phone_numbers] == [line.id for line in current.phone_numbers]


def test_sdk_with_a_wrong_key_gets_an_authentication_error(server: ServerProcess) -> None:
    client = LinqAPIV3(api_key="wrong", base_url=server.base_url, _strict_response_validation=True)
    with client, pytest.raises(AuthenticationError) as caught:
        client.phone_numbers.list()
    assert caught.value.status_code == 401
    assert caught.value.body == {
        "status": 401,
        "code": 2004,
        "message": "Unauthorized - missing or invalid authentication token",
        "doc_url": "https://docs.linqapp.com/error/codes/2xxx/2004/",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", caught.value.response.headers["x-trace-id"])


def test_serve_prints_what_a_newcomer_needs(server: ServerProcess, tmp_path: Path) -> None:
    printed = server.log()
    for line in server.phone_numbers:
        assert line in printed
    root = server.base_url.removesuffix("/api/partner")
    assert f"{root}/inspector" in printed and f"{root}/docs" in printed
    # The lines to paste work when a shell reads them as printed.
    pasted = tmp_path / "pasted.sh"
    pasted.write_text("\n".join(line for line in printed.splitlines() if line.startswith(("export ", "# "))))
    shell = subprocess.run(
        ["bash", "-c", f". {pasted} && echo $LINQ_API_V3_BASE_URL $LINQ_API_V3_API_KEY $LINQ_API_URL"],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert shell.stdout.split() == [server.base_url, server.api_key, server.base_url]


def test_a_second_serve_on_a_bound_port_says_so_in_one_line(server: ServerProcess, tmp_path: Path) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "linq_server", "serve", "--host", "127.0.0.1", "--port", str(server.port)],
        env={**server.env, "LINQ_SERVER_DATA_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1
    said = [line for line in (second.stdout + second.stderr).splitlines() if line.strip()]
    in_use = "the port is in use (another linq-server?); pick another with --port"
    assert said == [f"cannot listen on 127.0.0.1:{server.port}: {in_use}"]


def test_restart_keeps_the_partner_and_its_lines(server: ServerProcess) -> None:
    before = httpx.get(f"{server.base_url}/v3/phone_numbers", headers={"Authorization": f"Bearer {server.api_key}"})
    server.stop()
    server.start()
    after = httpx.get(f"{server.base_url}/v3/phone_numbers", headers={"Authorization": f"Bearer {server.api_key}"})
    assert after.json() == before.json()
