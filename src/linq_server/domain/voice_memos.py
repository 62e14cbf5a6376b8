"""``POST /v3/chats/{chatId}/voicememo``: audio sent as a voice-memo bubble (api-core §8.8).

A voice memo is a message with one media part, sent on the path of every message (gates, rate
limit, outbox job, lifecycle webhooks); only iMessage and RCS chats take one (409/2017 otherwise).
The audio is an uploaded attachment or an https URL, in one of §8.8's formats, at most 10 MB.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from linq_server.domain.attachment_errors import VoiceMemoTooLarge
from linq_server.domain.chat_views import ChatView
from linq_server.domain.chats import load_view
from linq_server.domain.errors import ChatNotFound, InvalidParameterValue, MissingRequiredField
from linq_server.domain.ids import parse_id
from linq_server.domain.media_rules import (
    MAX_VOICE_MEMO_BYTES,
    check_voice_memo_size,
    check_voice_memo_type,
    fetched_type,
    url_file,
)
from linq_server.domain.message_errors import VoiceMemoServiceUnsupported
from linq_server.domain.message_media import attachment_part, attachments_for_send, fetch
from linq_server.domain.message_parts import MAX_URL_CHARS, MessageContent, is_web_url
from linq_server.domain.message_sending import SendContext
from linq_server.store import chats as chat_store
from linq_server.store.messages import MessageRow

VOICE_MEMO_SERVICES = ("iMessage", "RCS")


@dataclass(frozen=True, slots=True)
class SentVoiceMemo:
    message: MessageRow
    view: ChatView

    @property
    def audio(self) -> dict[str, Any]:
        return self.message.parts[0]


def check_source(voice_memo_url: object, attachment_id: object) -> None:
    """Exactly one of the two: neither is 400/1001, both 400/1005; a URL must be https (400/1005)."""
    if voice_memo_url is None and attachment_id is None:
        raise MissingRequiredField("Missing required field: voice_memo_url or attachment_id")
    if voice_memo_url is not None and attachment_id is not None:
        raise InvalidParameterValue("Invalid parameter value: give voice_memo_url or attachment_id, not both")
    if voice_memo_url is not None and (
        not isinstance(voice_memo_url, str) or len(voice_memo_url) > MAX_URL_CHARS
        or not is_web_url(voice_memo_url, https_only=True)
    ):  # fmt: skip
        raise InvalidParameterValue(
            f"Invalid parameter value: voice_memo_url must be an https URL of at most {MAX_URL_CHARS} characters"
        )
    if attachment_id is not None and (not isinstance(attachment_id, str) or not attachment_id):
        raise InvalidParameterValue("Invalid parameter value: attachment_id must be a string")


async def _audio(
    ctx: SendContext, partner_id: str, base_url: str, url: str | None, attachment_id: str | None
) -> dict[str, Any]:
    if attachment_id is not None:
        attachment = (await attachments_for_send(ctx, partner_id, [attachment_id]))[attachment_id]
        check_voice_memo_type(attachment.content_type)
        check_voice_memo_size(attachment.size_bytes)
        return attachment_part(ctx, base_url, attachment)
    assert url is not None
    filename, by_extension = url_file(url)
    if by_extension is not None:
        check_voice_memo_type(by_extension)  # a .jpg is refused before it is read
    fetched = await fetch(ctx, url, MAX_VOICE_MEMO_BYTES, VoiceMemoTooLarge())
    mime_type = check_voice_memo_type(fetched_type(fetched.content_type, by_extension))
    return {
        "type": "media", "id": str(uuid.uuid4()), "url": url, "filename": filename, "mime_type": mime_type,
        "size_bytes": fetched.size_bytes,
    }  # fmt: skip


async def send_voice_memo(
    ctx: SendContext,
    partner_id: str,
    chat_id: str,
    *,
    voice_memo_url: str | None,
    attachment_id: str | None,
    override_optout: bool,
    trace_id: str,
    base_url: str,
) -> SentVoiceMemo:
    """Check the source, the chat (404/2001) and its service, then the audio, and send it as a message.
    A ``voice_memo_url`` that is one of our download links stands for its attachment."""
    if isinstance(voice_memo_url, str) and attachment_id is None:
        linked = ctx.links.linked_attachment(base_url, voice_memo_url)
        if linked is not None:
            voice_memo_url, attachment_id = None, linked
    check_source(voice_memo_url, attachment_id)
    chat_key = parse_id(chat_id, ChatNotFound)
    async with ctx.db.read() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, chat_key)
    if chat is None:
        raise ChatNotFound()
    if chat.service not in VOICE_MEMO_SERVICES:
        raise VoiceMemoServiceUnsupported()
    audio = await _audio(ctx, partner_id, base_url, voice_memo_url, attachment_id)
    content = MessageContent(
        parts=[audio], attachment_ids=[], effect=None, reply_to=None, preferred_service=None, idempotency_key=None
    )
    sent = await ctx.sends.submit(partner_id, chat.id, content, None, override_optout, trace_id)
    async with ctx.db.read() as conn:
        view = await load_view(conn, chat)
    return SentVoiceMemo(sent.message, view)
