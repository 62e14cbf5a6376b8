"""The built-in webhook receiver of the ``linq`` fixture: a real local HTTP server that checks every signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class ReceivedWebhook:
    """One verified delivery attempt: the event, the headers it came with, and the status we answered."""

    event_type: str
    data: dict[str, Any]
    payload: dict[str, Any]
    headers: dict[str, str]
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


def signature_is_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Both signatures Linq sends: Standard Webhooks and the legacy ``X-Webhook-Signature``.

    The timestamp is not held to "within 5 minutes": a sandbox on a manual clock may be hours ahead.
    """
    try:
        webhook_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        expected = Webhook(secret).sign(webhook_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
        given = headers["webhook-signature"].split()
        legacy = hmac.new(secret.encode(), f"{headers['x-webhook-timestamp']}.".encode() + body, hashlib.sha256)
    except (KeyError, ValueError, UnicodeDecodeError):
        return False
    standard = any(hmac.compare_digest(expected, candidate) for candidate in given)
    return standard and hmac.compare_digest(legacy.hexdigest(), headers.get("x-webhook-signature", ""))


@dataclass
class WebhookReceiver:
    """Answers ``status`` (200 unless told otherwise) to every delivery whose signatures check out, 401 to others.

    ``received`` holds every verified arrival, whatever was answered (a retried delivery arrives again).
    """

    secret: str = ""
    status: int = 200
    received: list[ReceivedWebhook] = field(default_factory=list)
    rejected: list[bytes] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/linq-webhooks"

    def respond(self, status: int) -> None:
        """Answer every later delivery with ``status`` (e.g. 500 to see the server retry)."""
        self.status = status

    def wait_for(
        self, event_type: str, timeout: float = 5.0, where: Callable[[ReceivedWebhook], bool] | None = None
    ) -> ReceivedWebhook:
        """The first verified webhook of ``event_type`` (that ``where`` accepts), waiting up to ``timeout`` s."""
        return self.wait_for_all(event_type, 1, timeout, where)[0]

    def wait_for_all(
        self,
        event_type: str,
        count: int,
        timeout: float = 5.0,
        where: Callable[[ReceivedWebhook], bool] | None = None,
    ) -> list[ReceivedWebhook]:
        """The first ``count`` verified webhooks of ``event_type`` (that ``where`` accepts), waiting for them."""

        def found() -> list[ReceivedWebhook]:
            return [hook for hook in self.received if hook.event_type == event_type and (where is None or where(hook))]

        with self._arrived:
            if not self._arrived.wait_for(lambda: len(found()) >= count, timeout=timeout):
                seen = ", ".join(hook.event_type for hook in self.received) or "nothing"
                raise TimeoutError(f"not {count} {event_type} webhook(s) within {timeout:g} s (received: {seen})")
            return found()[:count]

    def of_type(self, event_type: str) -> list[ReceivedWebhook]:
        with self._arrived:
            return [hook for hook in self.received if hook.event_type == event_type]

    def _accept(self, headers: dict[str, str], body: bytes) -> int:
        with self._arrived:
            if not signature_is_valid(self.secret, headers, body):
                self.rejected.append(body)
                return 401
            event = json.loads(body)
            hook = ReceivedWebhook(event["event_type"], event.get("data") or {}, event, headers, self.status)
            self.received.append(hook)
            self._arrived.notify_all()
            return self.status

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver._accept({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: a test's output is not the place for an access log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="linq-webhooks", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
