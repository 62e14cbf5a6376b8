"""A real ``linq-server`` process for a test session: its own SQLite file, a manual clock, port 0."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

# Generous: on a loaded machine a cold start (imports, migrations) has taken over a minute.
START_TIMEOUT_SECONDS = 180.0


class LinqServerProcess:
    """Binds 127.0.0.1:0 itself and hands the socket to the server, so the port is known with no race."""

    def __init__(self, folder: Path, extra_env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.admin_key = secrets.token_urlsafe(24)
        self.log_path = folder / "linq-server.log"
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LINQ_SERVER_DATABASE_URL": f"sqlite:///{folder / 'linq.db'}",
            "LINQ_SERVER_DATA_DIR": str(folder / "data"),
            "LINQ_SERVER_SANDBOX": "true",
            "LINQ_SERVER_CLOCK": "manual",
            "LINQ_SERVER_ADMIN_KEY": self.admin_key,
            "LINQ_SERVER_CARRIER_DELAY_MS": "0",
            "LINQ_SERVER_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LinqServerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "linq_server", "serve", "--fd", str(self._socket.fileno())],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[self._socket.fileno()],
            )  # fmt: skip
        self._socket.close()  # the child holds its own copy
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"linq-server exited at start:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)  # not listening yet: nothing to wait on but the next try
        self.stop()
        raise RuntimeError(f"linq-server did not become healthy in {START_TIMEOUT_SECONDS:g} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
