"""The wired services, built once per process from settings (by the app and by the worker command).

The worker that runs their jobs is built in ``linq_server.workers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from linq_server.carrier.base import Carrier
from linq_server.carrier.sandbox import SandboxCarrier, load_file_replies, load_handles_file
from linq_server.clock import Clock, SandboxClock
from linq_server.config import Settings
from linq_server.domain.sandbox_faults import SandboxFaults
from linq_server.domain.send_desk import SendDesk
from linq_server.domain.signed_links import LinkSigner
from linq_server.domain.webhook_faults import WebhookFaultPlanner
from linq_server.inspector.sessions import SessionSigner
from linq_server.jobs.queue import JobQueue
from linq_server.media_fetch import MediaFetcher
from linq_server.storage import open_storage
from linq_server.storage.base import Storage
from linq_server.store.database import Database
from linq_server.webhooks.emitter import Emitter
from linq_server.webhooks.sender import WebhookSender
from linq_server.webhooks.signing import SecretBox, load_server_key


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    queue: JobQueue
    emitter: Emitter
    secrets: SecretBox
    carrier: Carrier
    storage: Storage
    links: LinkSigner
    faults: SandboxFaults
    fetcher: MediaFetcher
    sessions: SessionSigner
    sender: WebhookSender = field(default_factory=WebhookSender)
    sends: SendDesk = field(init=False)

    def __post_init__(self) -> None:
        self.sends = SendDesk(self)

    async def close(self) -> None:
        await self.sender.close()
        await self.fetcher.close()
        await self.storage.close()
        await self.db.close()


def clock_for(settings: Settings) -> Clock:
    if settings.clock == "manual" and not settings.sandbox:
        raise ValueError("LINQ_SERVER_CLOCK=manual is a sandbox feature; it needs LINQ_SERVER_SANDBOX=true")
    return SandboxClock() if settings.clock == "manual" else Clock()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or clock_for(settings)
    db = Database(settings.database_url)
    queue = JobQueue(db, clock)
    server_key = load_server_key(settings.secret_key, Path(settings.data_dir))
    faults = SandboxFaults(db, clock)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        queue=queue,
        # Sandbox webhook faults (duplicates, delays, reordering) exist only in the sandbox.
        emitter=Emitter(queue, WebhookFaultPlanner(faults) if settings.sandbox else None),
        secrets=SecretBox(server_key),
        carrier=SandboxCarrier(
            db,
            delay_seconds=settings.carrier_delay_ms / 1000,
            file_overrides=load_handles_file(settings.sandbox_handles),
            file_replies=load_file_replies(settings.sandbox_handles),
        ),
        storage=open_storage(settings.storage_url, Path(settings.data_dir)),
        links=LinkSigner(server_key),
        faults=faults,
        # Media named by URL is read from the internet; internal addresses only in the sandbox.
        fetcher=MediaFetcher(allow_internal=settings.sandbox),
        sessions=SessionSigner(server_key),
    )
