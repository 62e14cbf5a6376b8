"""What the domain needs from the running server, and nothing more.

Domain functions take a ``DomainContext`` instead of the composition root (``services.Services``,
which also carries the HTTP client, the encryption key and the concrete carrier). ``Services``
satisfies these protocols structurally; tests may pass any object with the same attributes.
"""

from __future__ import annotations

from typing import Protocol

from linq_server.carrier.base import Carrier
from linq_server.clock import Clock
from linq_server.jobs.queue import JobQueue
from linq_server.store.database import Database
from linq_server.webhooks.emitter import Emitter


class DomainContext(Protocol):
    """The database, the clock, the job queue, the webhook emitter and the delivery network."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def emitter(self) -> Emitter: ...

    @property
    def carrier(self) -> Carrier: ...


class Sealer(Protocol):
    def seal(self, secret: str) -> str:
        """Encrypt a secret for storage."""
        ...


class ModeSettings(Protocol):
    @property
    def sandbox(self) -> bool:
        """Sandbox mode allows webhook targets on loopback and private addresses."""
        ...

    @property
    def public_url(self) -> str | None:
        """Where this server is reached; its own relay target is allowed even in production mode."""
        ...


class SubscriptionContext(DomainContext, Protocol):
    """Webhook subscriptions also seal signing secrets and need to know the server's mode."""

    @property
    def secrets(self) -> Sealer: ...

    @property
    def settings(self) -> ModeSettings: ...
