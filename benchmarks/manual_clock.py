"""How long a failing receiver's whole retry schedule takes on a manual clock, and what fault checks cost.

    python -m benchmarks.manual_clock [--runs 3] [--calls 300]

A real server (the pytest plugin's: SQLite, LINQ_SERVER_CLOCK=manual) and a receiver answering 500.
Each step waits until the server has recorded the attempt, then moves the clock by the longest the
next retry can wait, so every one of the 11 attempts runs. Then GET /v3/phone_numbers is timed with
no fault rules and with a rule on another route (the rule list is read on every call).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks.support import print_table
from linq_server.testing import LinqSandbox, LinqServer
from linq_server.testing.server import LinqServerProcess

ATTEMPTS = 11


def retry_schedule(sandbox: LinqSandbox) -> tuple[float, float]:
    """(real seconds, server minutes) for one delivery's 11 attempts."""
    sandbox.webhooks.respond(500)
    body = {"from": sandbox.lines[0], "to": ["+14155550101"], "message": {"parts": [{"type": "text", "value": "x"}]}}
    sandbox.http.post("/api/partner/v3/chats", json=body).raise_for_status()
    started = time.perf_counter()
    for attempt in range(1, ATTEMPTS):
        sandbox.wait_for_delivery("chat.created", attempts=attempt, timeout=30)
        sandbox.clock.advance(min(5 * 2 ** (attempt - 1), 300) * 1.2 + 1)
    delivery = sandbox.wait_for_delivery("chat.created", status="failed", timeout=30)
    elapsed = time.perf_counter() - started
    first, last = (datetime.fromisoformat(delivery["attempts"][n]["started_at"]) for n in (0, -1))
    return elapsed, (last - first).total_seconds() / 60


def call_times(sandbox: LinqSandbox, calls: int) -> float:
    """Median milliseconds of GET /v3/phone_numbers."""
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        sandbox.http.get("/api/partner/v3/phone_numbers").raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process = LinqServerProcess(Path(folder)).start()
        try:
            server = LinqServer(process.url, process.admin_key)
            rows = []
            for run in range(1, args.runs + 1):
                sandbox = server.new_sandbox()
                try:
                    elapsed, minutes = retry_schedule(sandbox)
                finally:
                    sandbox.close()
                rows.append([str(run), str(ATTEMPTS), f"{minutes:.1f}", f"{elapsed:.2f}"])
            print_table("A failing receiver's retries on the manual clock", ["run", "attempts", "server min", "real s"],
                        rows)  # fmt: skip
            sandbox = server.new_sandbox()
            try:
                without = call_times(sandbox, args.calls)
                sandbox.faults.set(rules=[{"path": "/v3/never/{id}", "status": 500}])
                with_rule = call_times(sandbox, args.calls)
            finally:
                sandbox.close()
            print_table(
                "GET /v3/phone_numbers, median of " + str(args.calls),
                ["fault rules", "ms"],
                [["none", f"{without:.2f}"], ["one, not matching", f"{with_rule:.2f}"]],
            )
        finally:
            process.stop()


if __name__ == "__main__":
    main()
