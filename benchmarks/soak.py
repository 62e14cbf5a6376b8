"""Soak: steady adds and sends for minutes, through receivers that flap, hang and fail, a PostgreSQL restart
and a ``kill -9`` of the process of ``serve --workers 2`` that runs the job worker.

    python -m benchmarks.soak [--minutes 10] [--rate 20]     (make soak; not in CI)

PostgreSQL is a cluster of the run's own (it is restarted on the way), on a free port. Two subscriptions get
every ``participant.added`` and ``message.sent``: a steady receiver, and a flapping one that cycles through
answering 200, 500 and hanging 20 s, ten seconds each. ``--rate`` adds and as many sends a second are made
from their own threads. At a third of the run PostgreSQL restarts; at two thirds the API process that runs
the job worker is killed (the supervisor replaces it, and its cut-off jobs are claimed again). At the end it
prints what was accepted (202), what the steady receiver got, what was lost (accepted, never announced to it
within two minutes of the end) and duplicated (one ``webhook-id`` twice; allowed only where a delivery's
answer was lost), and the p95 of 202 → webhook.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from tests.support.postgres_cluster import PostgresCluster
from tests.support.receiver import Answer, Receiver

from benchmarks.support import free_port, percentile, print_table
from linq_server.domain.partners import generate_api_key

LINE = "+12025550100"
EVENTS = ["participant.added", "message.sent"]
TEXT = {"parts": [{"type": "text", "value": "soak"}]}
# The flapping receiver's phases, ten seconds each.
PHASES = (Answer(200), Answer(500), Answer(200, delay_seconds=20))


class Load:
    """One kind of request at a steady rate from its own thread; keeps the trace id and time of every 202."""

    def __init__(self, name: str, base: str, key: str, rate: float, request: object) -> None:
        self.name = name
        self.base = base
        self.key = key
        self.period = 1.0 / rate
        self.request = request
        self.accepted: dict[str, float] = {}
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._n = 0

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                path, body = self.request(self._n)  # type: ignore[operator]
                self._n += 1
                try:
                    answer = http.post(path, json=body)
                except httpx.TransportError:
                    self.statuses[0] += 1
                else:
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 202:
                        self.accepted[answer.headers["x-trace-id"]] = time.time()
                next_at += self.period
                time.sleep(max(0.0, next_at - time.monotonic()))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _flap(receiver: Receiver, stop: threading.Event) -> None:
    phase = 0
    while not stop.wait(10):
        phase += 1
        receiver.default = PHASES[phase % len(PHASES)]


def _ready(port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"linq-server was not ready within {within} s")


def _setup(base: str, key: str, steady: Receiver, flapping: Receiver, groups: int) -> tuple[list[str], list[str]]:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        for receiver in (steady, flapping):
            made = http.post(
                "/v3/webhook-subscriptions", json={"target_url": receiver.url, "subscribed_events": EVENTS}
            )
            assert made.status_code == 201, made.text
        serial = iter(range(1, 1_000_000))

        def chat(size: int) -> str:
            to = [f"+1628{next(serial):06d}0" for _ in range(size)]
            made = http.post("/v3/chats", json={"from": LINE, "to": to, "message": TEXT})
            assert made.status_code == 201, made.text
            return str(made.json()["chat"]["id"])

        return [chat(2) for _ in range(groups)], [chat(1) for _ in range(groups)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="adds a second, and as many sends")
    args = parser.parse_args()
    seconds = args.minutes * 60
    folder = Path(tempfile.mkdtemp(prefix="linq-soak-"))
    cluster = PostgresCluster().start()
    steady, flapping = Receiver().start(), Receiver().start()
    stop_flapping = threading.Event()
    port, key = free_port(), generate_api_key()
    env = {
        **os.environ, "LINQ_SERVER_DATABASE_URL": cluster.url, "LINQ_SERVER_API_KEY": key,
        "LINQ_SERVER_PHONE_NUMBERS": LINE, "LINQ_SERVER_DATA_DIR": str(folder / "data"),
        "LINQ_SERVER_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "linq_server", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/partner"
    try:
        _ready(port, 90)
        # Room for the whole run: a group of three takes 28 new members before the maximum of 32.
        groups, dms = _setup(base, key, steady, flapping, max(50, int(args.rate * seconds / 28) + 10))
        # New members end in 0-5: handles the simulated carrier reaches on iMessage, as the groups are.
        adds = Load("adds", base, key, args.rate, lambda n: (
            f"/v3/chats/{groups[n % len(groups)]}/participants", {"handle": f"+1415{n:06d}{n % 6}"}
        )).start()  # fmt: skip
        sends = Load("sends", base, key, args.rate, lambda n: (
            f"/v3/chats/{dms[n % len(dms)]}/messages", {"message": TEXT}
        )).start()  # fmt: skip
        threading.Thread(target=_flap, args=(flapping, stop_flapping), daemon=True).start()
        started = time.monotonic()
        time.sleep(seconds / 3)
        print(f"{time.monotonic() - started:.0f} s: restarting PostgreSQL", flush=True)
        cluster.restart()
        time.sleep(max(0.0, started + 2 * seconds / 3 - time.monotonic()))
        victim = min(_children(server.pid))  # the first process: it runs the job worker
        print(f"{time.monotonic() - started:.0f} s: kill -9 of the API process with the job worker", flush=True)
        os.kill(victim, signal.SIGKILL)
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        adds.stop()
        sends.stop()
        ended = time.time()
        accepted = {**adds.accepted, **sends.accepted}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            announced = {hit.headers.get("webhook-id"): hit for hit in list(steady.received)}
            if len({_trace(hit.body) for hit in announced.values()} & set(accepted)) == len(accepted):
                break
            time.sleep(1)
        hits = list(steady.received)
    finally:
        stop_flapping.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        steady.stop()
        flapping.stop()
        cluster.remove()
    first: dict[str, float] = {}
    for hit in hits:
        first.setdefault(_trace(hit.body), hit.at)
    ids = Counter(hit.headers.get("webhook-id") for hit in hits)
    lost = [trace for trace in accepted if trace not in first]
    delays = [first[trace] - at for trace, at in accepted.items() if trace in first]
    rows = [
        [load.name, str(len(load.accepted)), str(sum(load.statuses.values()) - load.statuses[202]),
         ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(load.statuses.items()))]
        for load in (adds, sends)
    ]  # fmt: skip
    print_table("Requests", ["kind", "accepted (202)", "refused", "statuses"], rows)
    print_table(
        f"The steady receiver ({args.minutes:g} min, {args.rate:g} adds/s and sends/s)",
        ["accepted", "announced", "lost", "duplicated", "p50 202 → webhook", "p95 202 → webhook",
         "last webhook after the end"],
        [[str(len(accepted)), str(len(first)), str(len(lost)), str(sum(1 for c in ids.values() if c > 1)),
          f"{percentile(delays, 50) * 1000:.0f} ms", f"{percentile(delays, 95) * 1000:.0f} ms",
          f"{max(first.values()) - ended:.1f} s"]],
    )  # fmt: skip
    logged = (folder / "server.log").read_text(errors="replace").splitlines()
    errors = sum(1 for line in logged if " ERROR " in line or " CRITICAL " in line)
    print(f"flapping receiver: {len(flapping.received)} requests; server log: {folder / 'server.log'}")
    print(f"server log: {len(logged)} lines, {errors} at ERROR or worse")
    if lost:
        raise SystemExit(f"{len(lost)} accepted requests were never announced")


def _trace(body: bytes) -> str:
    return str(json.loads(body).get("trace_id", ""))


if __name__ == "__main__":
    main()
