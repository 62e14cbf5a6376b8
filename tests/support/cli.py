"""Run the real ``linq-server`` command line against a database."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(
    database_url: str, *args: str, within_seconds: float = 60.0, env: dict[str, str] | None = None
) -> CliResult:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linq_server", *args,
        env={**os.environ, "LINQ_SERVER_DATABASE_URL": database_url, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), within_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return CliResult(process.returncode or 0, stdout.decode(), stderr.decode())
