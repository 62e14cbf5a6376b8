"""``device.reply``: a sandbox handle answers a delivered message by itself, through the inbound path.

Scheduled by the delivery step (``domain/message_delivery.py``) when a ``replies`` rule matches, due
``after_ms`` later on the injected clock. The reply's id derives from the job's, so a job run again
after a crash sends nothing twice.
"""

from __future__ import annotations

import logging
import uuid

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import LinqError
from linq_server.domain.inbound import receive_message
from linq_server.store import messages as store
from linq_server.store.jobs import Job

_REPLY_IDS = uuid.UUID("6f1c7a52-1d0e-4c53-9a43-6a8f0f5b2e11")

log = logging.getLogger("linq_server.sandbox")


async def send_reply(ctx: DomainContext, job: Job) -> None:
    message_id = str(uuid.uuid5(_REPLY_IDS, job.id))
    async with ctx.db.read() as conn:
        if await store.messages_by_ids(conn, [message_id], lock=False):
            return
    try:
        await receive_message(
            ctx, str(job.payload["partner_id"]), sender=str(job.payload["handle"]),
            parts=[{"type": "text", "value": str(job.payload["reply"])}], chat_id=str(job.payload["chat_id"]),
            message_id=message_id,
        )  # fmt: skip
    except LinqError as refused:
        # The chat closed, was reset, or the handle left before answering: nobody is there to reply.
        log.info("device reply of %s dropped: %s", job.payload["handle"], refused.message)
