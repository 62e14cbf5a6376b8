"""A real local HTTP webhook receiver (uvicorn in a thread) whose answers tests can script."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import uvicorn

from tests.support.server import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() of receipt

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.default = Answer()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, *answers: Answer | int) -> None:
        """Answer the next requests like this, in order; then ``default``."""
        self.script.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    async def _app(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            self.received.append(Received(headers, body, time.time()))
            answer = self.script.popleft() if self.script else self.default
        if answer.delay_seconds:
            await asyncio.sleep(answer.delay_seconds)
        await send({
            "type": "http.response.start", "status": answer.status,
            "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    def start(self) -> Receiver:
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._server.force_exit = True  # answers still being held (a hanging receiver) do not hold the stop
            self._thread.join(timeout=10)

    def received_since(self, moment: float) -> list[Received]:
        """What arrived after ``moment`` (``time.time()``)."""
        return [hit for hit in list(self.received) if hit.at > moment]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"received {len(self.received)} of {count} webhooks")
            time.sleep(0.01)
        return list(self.received)

    async def wait_for_async(self, count: int, within_seconds: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + within_seconds
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"received {len(self.received)} of {count} webhooks")
            await asyncio.sleep(0.01)
        return list(self.received)
