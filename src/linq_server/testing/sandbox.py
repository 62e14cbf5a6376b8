"""One test's sandbox: a fresh partner on a running linq-server, and the controls of its far side."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from linq_server.testing.receiver import WebhookReceiver
from linq_server.webhooks.events import EVENT_TYPES


class SandboxError(Exception):
    """A sandbox control call was refused; the message is the server's."""


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SandboxError(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                           f"{response.text}")  # fmt: skip
    return response.json() if response.content else None


def _excerpt(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class LinqServer:
    """Where the sandboxes live: a server URL and the admin key that creates partners there."""

    url: str
    admin_key: str

    def new_sandbox(self, lines: int = 2) -> LinqSandbox:
        """A fresh partner with its own key and ``lines`` lines, and a webhook receiver subscribed to it all."""
        response = httpx.post(
            f"{self.url}/sandbox/partners", json={"lines": lines},
            headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30,
        )  # fmt: skip
        created = _checked(response)
        return LinqSandbox(self.url, created["partner_id"], created["api_key"], created["phone_numbers"]).open()


@dataclass
class Clock:
    http: httpx.Client

    def now(self) -> str:
        now: str = _checked(self.http.get("/sandbox/clock"))["now"]
        return now

    def advance(self, seconds: float) -> str:
        """Move the server's manual clock; what falls due (retries, delays) runs at once."""
        now: str = _checked(self.http.post("/sandbox/clock/advance", json={"seconds": seconds}))["now"]
        return now


@dataclass
class Faults:
    http: httpx.Client

    def set(self, rules: list[dict[str, Any]] | None = None, webhooks: dict[str, Any] | None = None) -> Any:
        """Replace the partner's faults, as ``PUT /sandbox/faults``."""
        return _checked(self.http.put("/sandbox/faults", json={"rules": rules or [], "webhooks": webhooks or {}}))

    def get(self) -> Any:
        return _checked(self.http.get("/sandbox/faults"))

    def clear(self) -> None:
        _checked(self.http.delete("/sandbox/faults"))


@dataclass
class Phone:
    """A simulated handle: what it can receive, how its device behaves, and what it does on its own phone."""

    http: httpx.Client
    handle: str

    def set(self, services: list[str], failing_operations: list[str] | None = None, **device: Any) -> Any:
        """``PUT /sandbox/handles/{handle}``; ``device`` may hold ``delivery_ms``, ``auto_read_ms``, ``offline``
        and ``replies`` (``[{"match": regex, "reply": text, "after_ms": n}]``)."""
        body = {"services": services, "failing_operations": failing_operations or [], **device}
        return _checked(self.http.put(f"/sandbox/handles/{self.handle}", json=body))

    def send(
        self, text: str | None = None, *, to: str | None = None, chat_id: str | None = None,
        parts: list[dict[str, Any]] | None = None, reply_to: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        """Send ``text`` (or ``parts``) to your line ``to`` (their DM) or into ``chat_id``: ``message.received``.
        Returns the stored message, as ``GET /v3/messages/{id}`` shows it."""
        body: dict[str, Any] = {"parts": parts if parts is not None else [{"type": "text", "value": text}]}
        body |= {key: value for key, value in (("to", to), ("chat_id", chat_id), ("reply_to", reply_to)) if value}
        return _checked(self.http.post(f"/sandbox/handles/{self.handle}/messages", json=body))

    def react(self, message_id: str, type: str = "love", *, remove: bool = False, **extra: Any) -> None:
        """Add (or remove) a reaction: ``reaction.added`` / ``.removed``; ``extra`` e.g. ``custom_emoji``."""
        body = {"message_id": message_id, "operation": "remove" if remove else "add", "type": type, **extra}
        _checked(self.http.post(f"/sandbox/handles/{self.handle}/reactions", json=body))

    def typing(self, chat_id: str, typing: bool = True) -> None:
        """Start (or stop) typing: ``chat.typing_indicator.started`` / ``.stopped`` (a start lapses after 90 s)."""
        _checked(self.http.post(f"/sandbox/handles/{self.handle}/typing", json={"chat_id": chat_id, "typing": typing}))

    def read(self, chat_id: str) -> None:
        """Read what was delivered in the chat: ``message.read`` for each of your unread messages (not over SMS)."""
        _checked(self.http.post(f"/sandbox/handles/{self.handle}/read", json={"chat_id": chat_id}))

    def leave(self, chat_id: str) -> Any:
        """Leave a group; ``participant.removed`` follows."""
        return _checked(self.http.post(f"/sandbox/handles/{self.handle}/leave", json={"chat_id": chat_id}))


@dataclass
class LinqSandbox:
    """What the ``linq`` fixture gives a test. ``client`` is a strict linq-python client (linq-server[testing])."""

    url: str
    partner_id: str
    api_key: str
    lines: list[str]
    webhooks: WebhookReceiver = field(default_factory=WebhookReceiver, repr=False)
    http: httpx.Client = field(init=False, repr=False)
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/partner"

    @property
    def client(self) -> Any:
        """A strict linq-python client of this sandbox."""
        if self._client is None:
            raise RuntimeError("linq.client needs linq-python: pip install 'linq-server[testing]'")
        return self._client

    def open(self) -> LinqSandbox:
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30)
        self.webhooks.start()
        self._subscribe()
        try:
            from linq import LinqAPIV3
        except ImportError:  # linq-python comes with linq-server[testing]; without it, .client says so
            self._client = None
        else:
            self._client = LinqAPIV3(api_key=self.api_key, base_url=self.base_url, _strict_response_validation=True)
        return self

    def _subscribe(self) -> None:
        body = {"target_url": self.webhooks.url, "subscribed_events": list(EVENT_TYPES)}
        self.webhooks.secret = _checked(self.http.post("/api/partner/v3/webhook-subscriptions", json=body))[
            "signing_secret"
        ]

    @property
    def clock(self) -> Clock:
        return Clock(self.http)

    @property
    def faults(self) -> Faults:
        return Faults(self.http)

    def phone(self, handle: str) -> Phone:
        return Phone(self.http, handle)

    def reset(self) -> None:
        """Delete everything this partner made (chats, subscriptions, deliveries, faults…); the built-in
        receiver is subscribed again and starts empty."""
        _checked(self.http.post("/sandbox/reset"))
        with self.webhooks._arrived:
            self.webhooks.received.clear()
        self._subscribe()

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """Every webhook delivery of this sandbox, newest first, with its attempts (``GET /sandbox/deliveries``)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {**filters, "limit": 100, **({"cursor": cursor} if cursor else {})}
            page = _checked(self.http.get("/sandbox/deliveries", params=params))
            found += page["deliveries"]
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def wait_for_delivery(
        self, event_type: str, *, status: str | None = None, attempts: int | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The newest delivery of ``event_type`` once the server has recorded it with ``status`` and at least
        ``attempts`` attempts. A receiver sees an attempt before the server records it: wait for this before
        moving the clock past a retry."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deliveries(event_type=event_type)
            if (
                found
                and (status is None or found[0]["status"] == status)
                and (attempts is None or found[0]["attempt_count"] >= attempts)
            ):
                return found[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event_type} delivery with status={status} attempts>={attempts} "
                                   f"within {timeout:g} s (newest: {found[0] if found else None})")  # fmt: skip
            time.sleep(0.01)  # the server has nothing to notify us by; ask again shortly

    def describe_deliveries(self) -> str:
        """The deliveries as text, oldest first, for a failing test's report."""
        lines = []
        for delivery in reversed(self.deliveries()):
            attempts = (
                ", ".join(str(a["status_code"] or a["error"]) for a in delivery["attempts"]) or "not attempted yet"
            )
            lines.append(
                f"{delivery['created_at']} {delivery['event_type']} → {delivery['target_url']} "
                f"[{delivery['status']}; attempts: {attempts}]\n    {_excerpt(json.dumps(delivery['payload']['data']))}"
            )
        return "\n".join(lines) or "no webhook deliveries"

    def close(self) -> None:
        self.webhooks.stop()
        if self._client is not None:
            self._client.close()
        self.http.close()
