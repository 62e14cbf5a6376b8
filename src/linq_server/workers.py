"""The job worker, with a handler for every kind of job the server schedules."""

from __future__ import annotations

from linq_server.domain.attachments import PURGE_JOB, purge_bytes
from linq_server.domain.auto_replies import send_reply
from linq_server.domain.changes import CHANGE_JOB
from linq_server.domain.chat_changes import ChatChanges
from linq_server.domain.device_replies import REPLY_JOB
from linq_server.domain.devices import DEVICE_JOB
from linq_server.domain.handle_actions import TYPING_LAPSE_JOB, lapse_typing
from linq_server.domain.message_delivery import MessageDelivery
from linq_server.domain.message_sending import SEND_JOB
from linq_server.jobs.handlers import EachJob
from linq_server.jobs.worker import Worker
from linq_server.services import Services
from linq_server.store.jobs import Job
from linq_server.webhooks.dispatcher import Dispatcher
from linq_server.webhooks.emitter import DELIVER_JOB


def build_worker(services: Services, concurrency: int | None = None) -> Worker:
    settings = services.settings
    dispatcher = Dispatcher(
        services.db, services.clock, services.secrets, services.sender, production=not settings.sandbox,
        public_url=settings.public_url,
    )  # fmt: skip

    async def purge(job: Job) -> None:
        await purge_bytes(services.storage, job.payload["storage_key"])

    async def reply(job: Job) -> None:
        await send_reply(services, job)

    async def lapse(job: Job) -> None:
        await lapse_typing(services, job)

    delivery = MessageDelivery(services)
    return Worker(
        services.queue,
        {
            DELIVER_JOB: dispatcher,
            CHANGE_JOB: ChatChanges(services),
            SEND_JOB: delivery.send,
            DEVICE_JOB: delivery.device,
            PURGE_JOB: EachJob(purge),
            REPLY_JOB: EachJob(reply),
            TYPING_LAPSE_JOB: EachJob(lapse),
        },
        concurrency=concurrency or settings.worker_concurrency,
        lease_seconds=settings.job_lease_seconds,
    )
