"""``serve --workers N``: N API processes accepting on one listening socket, the first also running the job worker.

One Python process uses one core (the GIL); a second API process puts a second core to work. Only the first
process runs the job worker: with a job worker in each of two processes on two cores, the participants
benchmark answered fewer adds (485 against 648 adds/s, PostgreSQL). The processes share one PostgreSQL
database, so what already holds across several ``serve`` processes holds here (row locks, ``SKIP LOCKED``
claims, a job queued by one process waking the worker of another, jobs that outlive their process).
``serve`` refuses ``--workers`` on SQLite and with a manual clock (cli.py says why).

``serve`` migrates, makes the sandbox partner, prints, binds the port and then becomes the supervisor
(``exec``, this module alone: a supervisor holding the whole application would cost 100 MB for nothing).
It forwards SIGINT/SIGTERM as SIGTERM, replaces a process that dies after it started well (its unfinished
jobs are claimed again when their lease lapses), and stops everything when one dies at once (a process
that cannot start would only die again). Each child ends with its parent.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import NoReturn

log = logging.getLogger("linq_server.processes")

# A process that dies sooner than this after it started is not replaced: it would die again.
STARTED_WELL_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for the children to share (IPv4 or IPv6, as ``host`` is)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=2048)


def become_supervisor(listening: socket.socket, count: int, *, job_worker: bool, log_level: str) -> NoReturn:
    """Replace this process by the supervisor of ``count`` API processes on ``listening`` (never returns)."""
    listening.set_inheritable(True)  # it survives the exec
    sys.stdout.flush()
    sys.stderr.flush()
    arguments = ["--fd", str(listening.fileno()), "--count", str(count), "--log-level", log_level]
    worker = [] if job_worker else ["--no-worker"]
    os.execv(sys.executable, [sys.executable, "-m", "linq_server.processes", *arguments, *worker])


def main() -> None:
    parser = argparse.ArgumentParser(description="Supervise serve's API processes (run by serve --workers N).")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listening = socket.socket(fileno=args.fd)
    sys.exit(serve_in_processes(listening, args.count, job_worker=not args.no_worker))


def serve_in_processes(listening: socket.socket, count: int, *, job_worker: bool) -> int:
    """Run ``count`` API processes on ``listening`` until SIGINT/SIGTERM; returns the exit code."""
    children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
    stopping = False

    def start(index: int) -> None:
        command = [sys.executable, "-m", "linq_server", "api-process", "--fd", str(listening.fileno())]
        if index > 0 or not job_worker:
            command.append("--no-worker")
        children[index] = subprocess.Popen(command, pass_fds=[listening.fileno()]), time.monotonic()

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child, _started in children.values():
            child.send_signal(signal.SIGTERM)  # a no-op for one already reaped

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for index in range(count):
        start(index)
    code = 0
    while any(child.returncode is None for child, _started in children.values()):
        try:
            pid, status = os.wait()
        except ChildProcessError:  # the last ones were reaped while signalled (Popen.send_signal polls)
            break
        which = next((i for i, (child, _started) in children.items() if child.pid == pid), None)
        if which is None:
            continue
        child, started = children[which]
        child.returncode = os.waitstatus_to_exitcode(status)
        if stopping:
            continue
        if time.monotonic() - started >= STARTED_WELL_SECONDS:
            log.warning("API process %d (pid %d) exited with %d; starting another", which, pid, child.returncode)
            start(which)
        else:
            log.error("API process %d (pid %d) exited at once with %d; stopping", which, pid, child.returncode)
            code = 1
            stop(signal.SIGTERM, None)
    return code


def end_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux), so no child outlives a killed
    supervisor and keeps serving on its own."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the children outlive a killed parent
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
