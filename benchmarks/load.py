"""What the HTTP benchmarks drive and watch: wrk, Prism, and a server's CPU and memory.

wrk (the Debian package) generates the load from C, so the client does not take a core from the
server the way a Python client would. Prism 5 is installed with npm from ``benchmarks/prism``'s
package.json and lock into the ignored ``benchmarks/prism/node_modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).parent
REPO = BENCHMARKS.parent
PRISM = BENCHMARKS / "prism"
SPEC_NAME = "linq-openapi-2026-02-13.yaml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class MissingTool(SystemExit):
    """A tool the benchmark needs is absent; the message says how to get it."""


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise MissingTool("wrk is not installed: `apt-get install -y wrk` (or run `make benchmark`, which does it)")
    return wrk


def openapi_spec() -> Path:
    """Linq's OpenAPI document, at ../shared/spec beside the repository (or $LINQ_SERVER_BENCH_OPENAPI)."""
    spec = Path(os.environ.get("LINQ_SERVER_BENCH_OPENAPI", REPO.parent / "shared" / "spec" / SPEC_NAME))
    if not spec.is_file():
        raise MissingTool(f"Linq's OpenAPI document is not at {spec}; set LINQ_SERVER_BENCH_OPENAPI to its path")
    return spec


def prism_command(port: int) -> list[str]:
    """The command that mocks Linq's API with Prism 5, installing the pinned Prism first if needed."""
    binary = PRISM / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise MissingTool("npm is not installed: `apt-get install -y npm` (Prism 5 is installed with it)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PRISM, check=True)
    return [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), str(openapi_spec())]


@dataclass
class WrkResult:
    accepted: int  # 202s
    other: int  # any other status
    errors: int  # socket errors and timeouts
    seconds: float  # from the first request to the last 202
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    used_up: bool  # a list of removes ran out before the duration ended

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


def run_wrk(
    base: str, method: str, targets: Path, *, key: str, prefix: str, pairs: bool, seconds: int, threads: int = 2,
    connections: int = 32, traces: Path | None = None, mode: str | None = None,
) -> WrkResult:  # fmt: skip
    """One wrk run of chat_requests.lua: participant changes (``targets`` lists chat ids, or "chat_id handle"
    lines with ``pairs``), or with ``mode="messages"`` a text message into each listed chat in turn.

    With ``traces``, the trace ids of the 202s are written to that file.
    """
    command = [
        require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(BENCHMARKS / "chat_requests.lua"), base,
        "--", method, str(targets), key, mode or ("pairs" if pairs else "adds"), prefix, str(threads),
        *([str(traces)] if traces else []),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return WrkResult(
        accepted=result["accepted"], other=result["other"], errors=result["errors"],
        seconds=result["accepting_seconds"], p50_ms=result["p50_ms"], p99_ms=result["p99_ms"],
        statuses=result["statuses"], used_up=result["exhausted"],
    )  # fmt: skip


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB."""
    total_kb = 0
    for member in _tree(pid):
        try:
            total_kb += int((Path("/proc") / str(member) / "statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by ``pid`` and its children."""
    ticks = 0
    for member in _tree(pid):
        try:
            fields = (Path("/proc") / str(member) / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLOCK_TICKS


@contextmanager
def peak_rss(pid: int, every: float = 0.2) -> Iterator[list[float]]:
    """Samples the tree's resident memory while the block runs; the list holds the peak in MB."""
    peak = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            peak[0] = max(peak[0], rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], rss_mb(pid))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def wait_until(check: object, limit: float) -> float:
    """Poll ``check()`` until true or ``limit`` seconds pass; returns the seconds waited."""
    started = time.monotonic()
    while not check() and time.monotonic() - started < limit:  # type: ignore[operator]
        time.sleep(0.1)
    return time.monotonic() - started
