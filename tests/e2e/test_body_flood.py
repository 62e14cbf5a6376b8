"""A flood of 5 MB bodies (loopback, a few seconds): the server's memory stays bounded, it keeps answering."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx

from tests.support.server import ServerProcess

BODY_BYTES = 5 * 1024 * 1024
CHUNK = 64 * 1024
FLOODERS = 6
FLOOD_SECONDS = 3.0
# Six requests at once, each holding at most the 1 MiB limit (plus the chunk that crossed it):
# before the guard the same flood grew the server by ~90 MiB (each body read whole, then parsed).
MAX_GROWTH_BYTES = 48 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def flood_once(port: int, api_key: str, chunked: bool) -> str:
    """POST a 5 MB JSON string to /v3/chats; the status line the server answered with, or "" if it cut us off."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"
    head = (
        f"POST /api/partner/v3/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api_key}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()
    payload = b'"' + b"x" * (CHUNK - 1)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(head)
            for _ in range(BODY_BYTES // CHUNK):
                sock.sendall(f"{len(payload):x}\r\n".encode() + payload + b"\r\n" if chunked else payload)
                payload = b"x" * CHUNK
        except OSError:
            pass  # refused mid-body: the server stopped reading, as it should
        try:
            return sock.recv(4096).split(b"\r\n", 1)[0].decode()
        except OSError:
            return ""


def test_a_body_flood_leaves_memory_bounded_and_the_server_answering(server: ServerProcess) -> None:
    assert server.process is not None
    pid = server.process.pid
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as http:
        assert http.get("/v3/phone_numbers").status_code == 200  # warm: imports and first queries done
        baseline = peak = rss_bytes(pid)
        stop = time.monotonic() + FLOOD_SECONDS
        answers: list[str] = []

        def flood(chunked: bool) -> None:
            while time.monotonic() < stop:
                answers.append(flood_once(server.port, server.api_key, chunked))

        flooders = [threading.Thread(target=flood, args=(index % 2 == 0,)) for index in range(FLOODERS)]
        for thread in flooders:
            thread.start()
        healthy = 0
        while any(thread.is_alive() for thread in flooders):
            assert http.get("/v3/phone_numbers").status_code == 200
            healthy += 1
            peak = max(peak, rss_bytes(pid))
        for thread in flooders:
            thread.join()

    assert peak - baseline < MAX_GROWTH_BYTES, f"RSS grew {(peak - baseline) / 2**20:.1f} MiB"
    assert healthy >= 5
    refused = [answer for answer in answers if answer.startswith("HTTP/1.1 413 ")]
    assert refused, set(answers)
    assert all(answer in refused or answer == "" for answer in answers), set(answers)
