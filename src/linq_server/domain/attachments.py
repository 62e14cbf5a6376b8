"""Attachments: request an upload link, receive the upload, serve the bytes, delete (api-core §15).

The upload and download links are served by this server (``api/attachment_files.py``); the bytes go
to the configured ``Storage`` as a stream, never whole in memory.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from linq_server.domain.attachment_errors import (
    AttachmentAlreadyUploaded,
    AttachmentNotFound,
    AttachmentNotReady,
    InvalidAttachmentId,
    UploadSizeMismatch,
)
from linq_server.domain.attachment_rules import (
    check_content_type,
    check_filename,
    check_upload_headers,
    check_upload_size,
)
from linq_server.domain.context import DomainContext
from linq_server.domain.ids import parse_id
from linq_server.domain.signed_links import LinkSigner
from linq_server.storage.base import IncompleteUpload, ObjectMissing, Storage
from linq_server.store import attachments as store
from linq_server.store.attachments import Attachment
from linq_server.vocabulary import AttachmentStatus

log = logging.getLogger("linq_server.attachments")

UPLOAD_LINK_LIFETIME = timedelta(minutes=15)
PURGE_JOB = "attachment.purge"


class AttachmentContext(DomainContext, Protocol):
    """Attachments also need the byte store and the signer of their links."""

    @property
    def storage(self) -> Storage: ...

    @property
    def links(self) -> LinkSigner: ...


@dataclass(frozen=True, slots=True)
class UploadOffer:
    """A new attachment and the links to upload it and, later, to download it."""

    attachment: Attachment
    upload_url: str
    download_url: str
    required_headers: dict[str, str]


def required_headers(attachment: Attachment) -> dict[str, str]:
    return {"Content-Type": attachment.content_type, "Content-Length": str(attachment.size_bytes)}


def download_url(ctx: AttachmentContext, base_url: str, attachment: Attachment) -> str:
    return ctx.links.download_url(base_url, attachment.id, attachment.filename)


async def create_attachment(
    ctx: AttachmentContext, partner_id: str, *, filename: str, content_type: str, size_bytes: int, base_url: str
) -> UploadOffer:
    """Record a pending attachment and sign its upload link (valid 15 minutes)."""
    now = ctx.clock.now()
    attachment = Attachment(
        id=str(uuid.uuid4()), partner_id=partner_id, filename=check_filename(filename),
        content_type=check_content_type(content_type), size_bytes=check_upload_size(size_bytes),
        status=AttachmentStatus.PENDING, storage_key=None, upload_expires_at=now + UPLOAD_LINK_LIFETIME,
        created_at=now, completed_at=None,
    )  # fmt: skip
    async with ctx.db.write() as conn:
        await store.insert(conn, attachment)
    return UploadOffer(
        attachment,
        upload_url=ctx.links.upload_url(base_url, attachment.id, attachment.upload_expires_at),
        download_url=download_url(ctx, base_url, attachment),
        required_headers=required_headers(attachment),
    )


async def get_attachment(ctx: AttachmentContext, partner_id: str, attachment_id: str) -> Attachment:
    """The partner's attachment; 404/2003 when unknown or another partner's (existence is not disclosed)."""
    async with ctx.db.read() as conn:
        found = await store.by_id(conn, parse_id(attachment_id, InvalidAttachmentId), partner_id)
    if found is None:
        raise AttachmentNotFound()
    return found


async def delete_attachment(ctx: AttachmentContext, partner_id: str, attachment_id: str) -> None:
    """Forget the attachment (its links answer 404 from the commit on) and remove its bytes.

    The bytes are removed right after the commit; a purge job, committed with the deletion, retries
    if that fails, so a 204 never leaves bytes behind for good.
    """
    async with ctx.db.write() as conn:
        deleted = await store.delete(conn, parse_id(attachment_id, InvalidAttachmentId), partner_id)
        if deleted is None:
            raise AttachmentNotFound()
        if deleted.storage_key is not None:
            await ctx.queue.enqueue(conn, PURGE_JOB, {"storage_key": deleted.storage_key})
    if deleted.storage_key is not None:
        try:
            await ctx.storage.delete(deleted.storage_key)
        except Exception:
            log.warning("removing the bytes of attachment %s failed; the purge job retries", deleted.id, exc_info=True)


async def purge_bytes(storage: Storage, storage_key: str) -> None:
    """The purge job: remove a deleted attachment's bytes (again: removing what is gone is a no-op)."""
    await storage.delete(storage_key)


async def receive_upload(
    ctx: AttachmentContext,
    attachment_id: str,
    *,
    expires: str,
    signature: str,
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
) -> Attachment:
    """The PUT to an upload link: check link and headers, stream the body to storage, mark it complete.

    A refused link is 403/2005; wrong headers leave the attachment pending (400/5006, 400/5001); a body
    that breaks off marks it failed. Either way a new PUT within the link's life may still complete it.
    """
    attachment_id = parse_id(attachment_id, AttachmentNotFound)
    ctx.links.check_upload(attachment_id, expires, signature, ctx.clock.now())
    async with ctx.db.read() as conn:
        attachment = await store.by_id(conn, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    if attachment.status == AttachmentStatus.COMPLETE:
        # The bytes of a complete attachment never change: messages may already carry them.
        raise AttachmentAlreadyUploaded()
    check_upload_headers(
        content_type=content_type, content_length=content_length,
        declared_type=attachment.content_type, size=attachment.size_bytes,
    )  # fmt: skip
    # Every upload writes a key of its own; the row then names the one that completed first.
    key = f"{attachment.partner_id}/{attachment.id}/{uuid.uuid4().hex}"
    try:
        await ctx.storage.put(key, body, size=attachment.size_bytes, content_type=attachment.content_type)
    except IncompleteUpload as error:
        await _mark_failed(ctx, attachment.id)
        message = f"File upload failed: the body must be exactly {attachment.size_bytes} bytes"
        raise UploadSizeMismatch(message) from error
    except BaseException:
        await _mark_failed(ctx, attachment.id)
        raise
    async with ctx.db.write() as conn:
        completed = await store.complete(conn, attachment.id, key, ctx.clock.now())
        current = await store.by_id(conn, attachment.id)
    if not completed:
        await ctx.storage.delete(key)
        raise AttachmentNotFound() if current is None else AttachmentAlreadyUploaded()
    assert current is not None
    return current


async def _mark_failed(ctx: AttachmentContext, attachment_id: str) -> None:
    async with ctx.db.write() as conn:
        await store.mark_failed(conn, attachment_id)


async def open_download(
    ctx: AttachmentContext, attachment_id: str, *, signature: str | None, partner_id: str | None
) -> tuple[Attachment, AsyncIterator[bytes]]:
    """The attachment and its bytes, for a valid download signature or its owner; 404/2003 for anyone else.

    404/2007 while it is not uploaded yet. The first chunk is read here, so bytes that vanished (a
    delete racing the download) answer 404 before any response starts.
    """
    attachment_id = parse_id(attachment_id, AttachmentNotFound)
    async with ctx.db.read() as conn:
        attachment = await store.by_id(conn, attachment_id)
    allowed = attachment is not None and (
        (signature is not None and ctx.links.is_download_signature(attachment.id, signature))
        or attachment.partner_id == partner_id
    )
    if attachment is None or not allowed:
        raise AttachmentNotFound()
    if attachment.status != AttachmentStatus.COMPLETE or attachment.storage_key is None:
        raise AttachmentNotReady()
    chunks = ctx.storage.read(attachment.storage_key)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as error:
        raise AttachmentNotFound() from error
    return attachment, _prepend(first, chunks)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk
