"""Startup: how long a newcomer waits, beside Prism mocking Linq's OpenAPI, in one run.

    python -m benchmarks.startup [--runs 5]

Measures, each ``--runs`` times on this machine (the median and the slowest are printed):
* ``linq-server --help`` until it exits;
* ``linq-server serve`` until ``/healthz`` answers, on a fresh SQLite database (migrated on the way) and on an
  existing one;
* Prism 5 (``prism mock`` on Linq's OpenAPI) until it answers an HTTP request.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.load import prism_command
from benchmarks.support import free_port, median, print_table

LINQ_SERVER = str(Path(sys.executable).parent / "linq-server")


def _until_answered(command: list[str], url: str, env: dict[str, str], cwd: Path) -> float:
    """Seconds from starting ``command`` until ``url`` answers anything over HTTP."""
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                httpx.get(url, timeout=1)
                return time.perf_counter() - began
            except httpx.TransportError:
                if process.poll() is not None:
                    raise SystemExit(f"{command[0]} exited with {process.returncode}") from None
                if time.perf_counter() - began > 60:
                    raise SystemExit(f"{command[0]} did not answer within 60 s") from None
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _serve(folder: Path, fresh: bool) -> float:
    if fresh:
        shutil.rmtree(folder / "data", ignore_errors=True)
    port = free_port()
    env = {**os.environ, "LINQ_SERVER_LOG_LEVEL": "WARNING"}
    command = [LINQ_SERVER, "serve", "--port", str(port)]
    return _until_answered(command, f"http://127.0.0.1:{port}/healthz", env, folder)


def _help() -> float:
    began = time.perf_counter()
    subprocess.run([LINQ_SERVER, "--help"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _prism(folder: Path) -> float:
    port = free_port()
    return _until_answered(prism_command(port), f"http://127.0.0.1:{port}/", dict(os.environ), folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linq-startup-"))
    measured: dict[str, list[float]] = {
        "linq-server --help": [_help() for _ in range(args.runs)],
        "serve → /healthz, fresh database": [_serve(folder, fresh=True) for _ in range(args.runs)],
        "serve → /healthz, existing database": [_serve(folder, fresh=False) for _ in range(args.runs)],
        "Prism 5 → first answer": [_prism(folder) for _ in range(args.runs)],
    }
    shutil.rmtree(folder, ignore_errors=True)
    rows = [[name, f"{median(times):.2f} s", f"{max(times):.2f} s"] for name, times in measured.items()]
    print_table(f"Startup ({args.runs} runs each)", ["what", "median", "slowest"], rows)


if __name__ == "__main__":
    main()
