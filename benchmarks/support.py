"""Shared benchmark helpers: databases, processes, percentiles, tables."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from linq_server.store.database import Database
from linq_server.store.migrate import migrate

POSTGRES_URL = os.environ.get(
    "LINQ_SERVER_BENCH_POSTGRES_URL",
    os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg(statement: str) -> None:
    connection = await asyncpg.connect(make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_available() -> bool:
    try:
        asyncio.run(_pg("SELECT 1"))
    except Exception:
        return False
    return True


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A new, migrated database of ``kind`` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            migrate(url)
            yield url
        return
    name = f"linq_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def wait_for_no_jobs(database_url: str, within_seconds: float = 120.0) -> None:
    """Return once the server has no job queued or running, so a measurement starts with the setup's work done
    (the first message of every group chat it made goes to each member's device, step by step)."""

    async def unfinished() -> int:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                query = sa.text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                return int((await conn.execute(query)).scalar_one())
        finally:
            await db.close()

    deadline = time.monotonic() + within_seconds
    while asyncio.run(unfinished()) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the setup's jobs were not done within {within_seconds} s")
        time.sleep(0.2)


@contextmanager
def process(
    args: list[str], health_url: str, env: dict[str, str] | None = None, *, python: bool = True, start_limit: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` (a Python module's arguments, or a whole command with ``python=False``) until the block ends.

    It is ready once ``health_url`` answers anything over HTTP.
    """
    proc = subprocess.Popen(
        [sys.executable, *args] if python else args, env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + start_limit
        while True:
            try:
                httpx.get(health_url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=140).print(table)


def start_profile(pid: int, folder: Path | None, name: str, seconds: int) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` with py-spy for ``seconds`` into ``folder/name.txt`` (raw, for benchmarks.flame); None
    without a folder. Non-blocking: py-spy does not pause the server, so it costs the run little."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "-f", "raw", "-o",
               str(folder / f"{name}.txt"), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
