"""The relay behind ``linq webhooks listen``: live WebSocket connections, and webhook deliveries pushed to them.

A connection lives in the API process that holds its socket. A delivery (``POST /relay/{id}``) may reach
any process: the one holding the socket pushes the frame itself; any other asks its peers over
PostgreSQL's notification channel and waits for one to say it pushed it. Nothing is queued in memory:
a delivery that no live connection of the subscription's partner took is a retryable failure, so the
dispatcher retries it and at last records it as failed, like any unreachable receiver.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from standardwebhooks import Webhook, WebhookVerificationError

from linq_server.domain.errors import LinqError, Unauthorized
from linq_server.store import relay as store
from linq_server.store.database import Database
from linq_server.webhooks.signing import SecretBox

log = logging.getLogger("linq_server.relay")

REQUEST_CHANNEL = "linq_relay_request"
ACK_CHANNEL = "linq_relay_ack"
# How long a process waits for a peer to say it pushed a delivery to a socket it holds.
ACK_TIMEOUT_SECONDS = 3.0


class RelayConnectionUnavailable(LinqError):
    # 503 is retryable for the dispatcher: the CLI may reconnect and move its subscription to a new connection.
    status, code, default_message = 503, 4004, "No live relay connection of this subscription's partner"


class NotASignedDelivery(Unauthorized):
    default_message = "Only signed webhook deliveries of this server are relayed"


def is_init_frame(text: str | None) -> bool:
    """Is this the client's ``{"action": "init"}`` frame, which asks for the connection id?"""
    try:
        frame = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(frame, dict) and frame.get("action") == "init"


def check_relay_partner(connection_partner_id: str, subscription_partner_id: str) -> None:
    """A connection carries only its own partner's deliveries; another partner's is as good as closed."""
    if connection_partner_id != subscription_partner_id:
        raise RelayConnectionUnavailable()


@dataclass
class _Connection:
    partner_id: str
    send: Callable[[str], Awaitable[None]]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RelayHub:
    """The relay connections of this process, and the notification channel to the other processes' ones."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connections: dict[str, _Connection] = {}
        self._waiting: dict[str, asyncio.Future[bool]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._close_listener: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Listen to peers (PostgreSQL); on SQLite the API is one process and has none."""
        self._close_listener = await self.db.listen_messages(
            {REQUEST_CHANNEL: self._on_request, ACK_CHANNEL: self._on_ack}
        )

    async def stop(self) -> None:
        if self._close_listener:
            await self._close_listener()
            self._close_listener = None

    def open(self, partner_id: str, send: Callable[[str], Awaitable[None]]) -> str:
        """Register a socket of ``partner_id``; returns its new connection id (unguessable, URL-safe)."""
        connection_id = secrets.token_urlsafe(18)
        self._connections[connection_id] = _Connection(partner_id, send)
        return connection_id

    def close(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    async def send(self, connection_id: str, text: str) -> None:
        """One text frame to a socket of this process; frames never interleave."""
        connection = self._connections.get(connection_id)
        if connection is None:
            raise RelayConnectionUnavailable()
        try:
            async with connection.lock:
                await connection.send(text)
        except Exception as error:
            # The socket went away under us (its handler has not unregistered it yet): not delivered.
            raise RelayConnectionUnavailable() from error

    async def push(
        self, connection_id: str, partner_id: str, body: str, *, event_id: str, subscription_id: str
    ) -> None:
        """Push a delivery of ``partner_id`` to a live connection, here or in a peer; raises when none took it."""
        local = self._connections.get(connection_id)
        if local is not None:
            check_relay_partner(local.partner_id, partner_id)
            await self.send(connection_id, body)
            return
        if self._close_listener is None:
            raise RelayConnectionUnavailable()
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        # The body stays out of the notification (PostgreSQL caps payloads at 8000 bytes): the peer reads it.
        request = {"request": request_id, "connection": connection_id, "partner": partner_id,
                   "event": event_id, "subscription": subscription_id}  # fmt: skip
        try:
            await self.db.publish(REQUEST_CHANNEL, json.dumps(request))
            async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                pushed = await answer
        except TimeoutError:
            pushed = False
        finally:
            self._waiting.pop(request_id, None)
        if not pushed:
            raise RelayConnectionUnavailable()

    def _on_request(self, payload: str) -> None:
        request = json.loads(payload)
        if request.get("connection") in self._connections:
            task = asyncio.get_running_loop().create_task(self._serve_peer(request))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve_peer(self, request: dict[str, str]) -> None:
        pushed = False
        try:
            connection = self._connections.get(request["connection"])
            if connection is not None:
                check_relay_partner(connection.partner_id, request["partner"])
                async with self.db.read() as conn:
                    body = await store.delivery_body(conn, request["event"], request["subscription"])
                if body is not None:
                    await self.send(request["connection"], body)
                    pushed = True
        except RelayConnectionUnavailable:
            pass
        except Exception:
            log.exception("relaying to connection %s for a peer failed", request.get("connection"))
        await self.db.publish(ACK_CHANNEL, json.dumps({"request": request["request"], "pushed": pushed}))

    def _on_ack(self, payload: str) -> None:
        ack = json.loads(payload)
        answer = self._waiting.get(ack.get("request"))
        if answer is not None and not answer.done():
            answer.set_result(bool(ack.get("pushed")))


async def relay_delivery(
    db: Database, secrets_box: SecretBox, hub: RelayHub, connection_id: str, body: bytes, headers: Mapping[str, str]
) -> None:
    """Push one webhook delivery to relay connection ``connection_id``, as one text frame holding the exact body.

    Only this server's own deliveries are relayed: the subscription named by ``x-webhook-subscription-id`` must
    exist and its secret must verify the Standard Webhooks signature (401 otherwise). A connection that is
    closed, unknown or another partner's gives 503, which the dispatcher retries like an unreachable receiver.
    """
    subscription_id = headers.get("x-webhook-subscription-id", "")
    async with db.read() as conn:
        owner = await store.subscription_owner(conn, subscription_id)
    if owner is None:
        raise NotASignedDelivery()
    partner_id, sealed_secret = owner
    try:
        text = body.decode("utf-8")
        Webhook(secrets_box.open(sealed_secret)).verify(text, dict(headers), json_parse=False)
    except (UnicodeDecodeError, WebhookVerificationError) as error:
        raise NotASignedDelivery() from error
    await hub.push(
        connection_id, partner_id, text, event_id=headers.get("webhook-id", ""), subscription_id=subscription_id
    )
