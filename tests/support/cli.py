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


async def run_cli(database_url: str, *args: str) -> CliResult:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linq_server", *args,
        env={**os.environ, "LINQ_SERVER_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    return CliResult(process.returncode or 0, stdout.decode(), stderr.decode())
