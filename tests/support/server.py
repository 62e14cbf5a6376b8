"""A real ``linq-server`` process on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from linq import LinqAPIV3

# Every process started by a test, so the e2e suite can read their logs for unexpected errors afterwards.
started: list[ServerProcess] = []
# A line a healthy server never logs: a traceback, or a record at ERROR level (or worse).
_ALARMS = ("Traceback (most recent call last)", " ERROR ", " CRITICAL ", "ERROR:")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        api_key: str,
        phone_numbers: list[str],
        command: tuple[str, ...] = ("serve",),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.api_key = api_key
        self.phone_numbers = phone_numbers
        self.log_path = data_dir / f"server-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "LINQ_SERVER_DATABASE_URL": database_url,
            "LINQ_SERVER_API_KEY": api_key,
            "LINQ_SERVER_PHONE_NUMBERS": ",".join(phone_numbers),
            "LINQ_SERVER_DATA_DIR": str(data_dir),
            **(extra_env or {}),
        }
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self._log_size = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/partner"

    @property
    def serves_http(self) -> bool:
        return self.command[0] == "serve"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the command and wait until it is ready: healthy for ``serve``, announced for ``worker``."""
        return self.launch().wait_healthy(timeout)

    def launch(self) -> ServerProcess:
        """Start the process without waiting for it (to start several at once)."""
        log = self.log_path.open("ab")
        address = ["--host", "127.0.0.1", "--port", str(self.port)] if self.serves_http else []
        self._log_size = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [sys.executable, "-m", "linq_server", *self.command, *address],
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if self not in started:
            started.append(self)
        return self

    def wait_healthy(self, timeout: float = 60.0) -> ServerProcess:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            if self._ready(self._log_size):
                return self
            time.sleep(0.05)
        self.kill()  # no orphan server left behind by a failed start
        raise RuntimeError(f"server did not become ready:\n{self.log()}")

    def _ready(self, log_size: int) -> bool:
        if not self.serves_http:
            return " running (" in self.log_path.read_bytes()[log_size:].decode(errors="replace")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def alarms(self) -> list[str]:
        """The log lines that show an error: a traceback's first line, or an ERROR record."""
        return [line for line in self.log().splitlines() if any(alarm in line for alarm in _ALARMS)]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def strict_sdk(server: ServerProcess) -> LinqAPIV3:
    """The official client for ``server``, validating every response strictly against the SDK's models."""
    return LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True)
