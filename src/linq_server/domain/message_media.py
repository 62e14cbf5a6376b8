"""The media a message carries, resolved before it is sent (api-core §13.2, §15, §8.8).

A part by ``attachment_id`` becomes the attachment's stable download link, name, type and size:
404/2003 when the id is unknown or another partner's, 404/2007 while its upload has not completed.
A part by ``url`` keeps its URL; its type and size come from reading it once (``media_fetch``),
under the rules of ``media_rules``. Resolution happens before the send's transaction, so no row
lock is held while a remote server answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any, Protocol

from linq_server.domain.attachment_errors import AttachmentNotFound, AttachmentNotReady, FileDownloadFailed
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, LinqError
from linq_server.domain.ids import parse_id
from linq_server.domain.media_rules import MAX_URL_MEDIA_BYTES, check_url_media_size, fetched_type, url_media_too_large
from linq_server.domain.message_parts import MessageContent, check_content
from linq_server.domain.signed_links import LinkSigner
from linq_server.media_fetch import Fetched, FetchFailed, FetchRefused, FetchTooLarge
from linq_server.store import attachments as attachment_store
from linq_server.store.attachments import Attachment
from linq_server.vocabulary import AttachmentStatus


class MediaProbe(Protocol):
    async def probe(self, url: str, limit: int) -> Fetched:
        """Size and declared type of what ``url`` serves; ``FetchTooLarge`` past ``limit`` bytes."""
        ...


class MediaContext(DomainContext, Protocol):
    """Sending media signs attachment links and reads URLs."""

    @property
    def links(self) -> LinkSigner: ...

    @property
    def fetcher(self) -> MediaProbe: ...


def check_outbound_content(ctx: MediaContext, raw: object, base_url: str) -> MessageContent:
    """``check_content`` for a message the partner sends, where a media part whose ``url`` is one of our own
    download links (under ``base_url``) stands for its attachment, as a part by ``attachment_id`` would: it
    must be the partner's (404/2003 otherwise, as for a link we did not sign), it is not read over HTTP,
    and it does not count among the 40 parts by URL (api-core §13.3 P3, §15.5)."""
    if isinstance(raw, dict) and isinstance(raw.get("parts"), list):
        raw = {**raw, "parts": [_by_own_link(ctx, base_url, part) for part in raw["parts"]]}
    return check_content(raw)


def _by_own_link(ctx: MediaContext, base_url: str, part: object) -> object:
    if not isinstance(part, dict) or part.get("type") != "media" or not isinstance(part.get("url"), str):
        return part
    attachment_id = ctx.links.linked_attachment(base_url, part["url"])
    if attachment_id is None:
        return part
    return {key: value for key, value in part.items() if key != "url"} | {"attachment_id": attachment_id}


async def attachments_for_send(ctx: MediaContext, partner_id: str, attachment_ids: list[str]) -> dict[str, Attachment]:
    """The partner's uploaded attachments by id: 404/2003 for an unknown or foreign id, 404/2007 for one
    whose bytes have not arrived (the id of a failed upload is not ready either: a new PUT may complete it)."""
    if not attachment_ids:
        return {}
    keys = {raw: parse_id(raw, AttachmentNotFound) for raw in attachment_ids}
    async with ctx.db.read() as conn:
        found = await attachment_store.of_partner(conn, sorted(set(keys.values())), partner_id)
    resolved: dict[str, Attachment] = {}
    for raw, key in keys.items():
        attachment = found.get(key)
        if attachment is None:
            raise AttachmentNotFound(f"Attachment not found: {raw}")
        if attachment.status != AttachmentStatus.COMPLETE:
            raise AttachmentNotReady(f"Attachment not ready: {raw} has not been uploaded yet")
        resolved[raw] = attachment
    return resolved


def attachment_part(ctx: MediaContext, base_url: str, attachment: Attachment) -> dict[str, Any]:
    """A media response part for an uploaded attachment; its ``url`` is the attachment's stable download link."""
    url = ctx.links.download_url(base_url, attachment.id, attachment.filename)
    return {
        "type": "media", "id": attachment.id, "url": url, "filename": attachment.filename,
        "mime_type": attachment.content_type, "size_bytes": attachment.size_bytes,
    }  # fmt: skip


async def fetch(ctx: MediaContext, url: str, limit: int, too_large: LinqError) -> Fetched:
    """Read ``url`` once: ``too_large`` past ``limit``; 400/1005 for an internal address outside the
    sandbox (the client's mistake, so no retry); 500/5002 when it cannot be read."""
    try:
        return await ctx.fetcher.probe(url, limit)
    except FetchTooLarge as error:
        raise too_large from error
    except FetchRefused as error:
        raise InvalidParameterValue(
            "Invalid parameter value: a media url must not point to a loopback, private or link-local address"
        ) from error
    except FetchFailed as error:
        raise FileDownloadFailed(f"File download failed: {url} could not be read ({error})") from error


async def _url_part(ctx: MediaContext, part: dict[str, Any]) -> dict[str, Any]:
    """A media part by URL with its type and size; its id is new (the URL's bytes are not kept)."""
    fetched = await fetch(ctx, part["url"], MAX_URL_MEDIA_BYTES, url_media_too_large())
    return {
        **part, "id": str(uuid.uuid4()), "mime_type": fetched_type(fetched.content_type, part["mime_type"]),
        "size_bytes": check_url_media_size(fetched.size_bytes),
    }  # fmt: skip


def _sticker(ctx: MediaContext, base_url: str, sticker: dict[str, Any], found: dict[str, Attachment]) -> dict[str, Any]:
    attachment = found.get(sticker.get("id") or "")
    if attachment is None:
        return sticker
    url = ctx.links.download_url(base_url, attachment.id, attachment.filename)
    return {**sticker, "id": attachment.id, "file_name": attachment.filename, "mime_type": attachment.content_type,
            "url": url}  # fmt: skip


def reads_urls(content: MessageContent) -> bool:
    """Does sending ``content`` read media from URLs (slow, and answered by someone else's server)?"""
    return any(part["type"] == "media" and part["id"] is None for part in content.parts)


async def resolve_media(ctx: MediaContext, partner_id: str, content: MessageContent, base_url: str) -> MessageContent:
    """``content`` with every media part and inline sticker filled in, as the message will show them.

    Attachments are checked first (no URL is read for a message that names a missing attachment);
    URLs are then read concurrently."""
    found = await attachments_for_send(ctx, partner_id, content.attachment_ids)
    parts: list[dict[str, Any]] = []
    for part in content.parts:
        if part["type"] == "media" and part["id"] is not None:
            part = attachment_part(ctx, base_url, found[part["id"]])
        elif part["type"] == "text" and part["inline_stickers"]:
            part = {**part, "inline_stickers": [_sticker(ctx, base_url, s, found) for s in part["inline_stickers"]]}
        parts.append(part)
    by_url = [i for i, part in enumerate(parts) if part["type"] == "media" and part["id"] is None]
    for i, resolved in zip(by_url, await asyncio.gather(*(_url_part(ctx, parts[i]) for i in by_url)), strict=True):
        parts[i] = resolved
    return dataclasses.replace(content, parts=parts, attachment_ids=[])
