"""linq-server as a library: the sdist and the wheel build, and the wheel installed in a fresh virtual environment
outside the repository serves the API, the inspector and the docs; its [testing] extra runs a user's test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]
USERS_TEST = """
def test_my_integration(linq):
    assert linq.client.phone_numbers.list().phone_numbers[0].phone_number == linq.lines[0]
"""


def _run(*command: str | Path, cwd: Path) -> None:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


@pytest.mark.skipif(
    bool(os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL")), reason="the wheel's own SQLite server: run once, on SQLite"
)
@pytest.mark.timeout(900)
def test_the_wheel_serves_everything_from_a_fresh_environment(tmp_path: Path) -> None:
    _run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", tmp_path / "dist", REPO, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("linq_server-*.whl")
    assert list((tmp_path / "dist").glob("linq_server-*.tar.gz"))
    _run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    bin_ = tmp_path / "venv" / "bin"
    _run(bin_ / "pip", "install", "--quiet", f"{wheel}[testing]", "pytest", cwd=tmp_path)

    port = free_port()
    env = {"PATH": f"{bin_}:{os.environ['PATH']}", "HOME": str(tmp_path), "LINQ_SERVER_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [bin_ / "linq-server", "serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the installed server did not start"
            time.sleep(0.2)
        for path in (
            "/inspector/sign-in",
            "/inspector/static/inspector.css",
            "/docs",
            "/docs-assets/swagger-ui-bundle.js",
            "/openapi.json",
        ):
            assert httpx.get(f"{base}{path}", timeout=10).status_code == 200, path
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "data" / "linq.db").exists()  # migrated from the migrations inside the wheel

    (tmp_path / "users" / "test_mine.py").parent.mkdir()
    (tmp_path / "users" / "test_mine.py").write_text(USERS_TEST)
    _run(bin_ / "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py", cwd=tmp_path / "users")
