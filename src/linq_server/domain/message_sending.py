"""Sending a message from a partner's line: the gates of api-core §18, idempotency (§14), the per-pair
rate limit (§17), and the outbox write that hands the message to the network.

Everything happens in one write transaction holding the chat's row lock: the message is numbered in
acceptance order, counted against each recipient's window exactly, and its ``message.send`` job is
recorded with it, so a 202 is never lost and a crash never sends twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.changes import check_open
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import ChatNotFound, InvalidParameterValue
from linq_server.domain.ids import parse_id
from linq_server.domain.message_errors import MessageNotFound
from linq_server.domain.message_media import MediaContext, resolve_media
from linq_server.domain.message_parts import MessageContent, check_content, check_for_chat
from linq_server.domain.rate_limits import admit
from linq_server.domain.send_gates import check_send_gates
from linq_server.shapes.chats import handle_json
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import message_recipients as recipient_store
from linq_server.store import messages as store
from linq_server.store import participants as participant_store
from linq_server.store import send_windows as window_store
from linq_server.store import typing_indicators as typing_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ParticipantStatus


class SendLimits(Protocol):
    @property
    def messages_per_minute(self) -> int:
        """Messages per rolling minute per (line, recipient) pair."""
        ...


class SendContext(MediaContext, Protocol):
    """Sending also needs the per-pair rate limit from the settings (and, for media, links and URL reads)."""

    @property
    def settings(self) -> SendLimits: ...


SEND_JOB = "message.send"
SEND_JOB_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message our line sent (or had already sent, for a repeated idempotency key) and who sent it."""

    message: MessageRow
    sender: dict[str, object]


async def message_service(ctx: DomainContext, chat: ChatRow, recipients: list[str], preferred: str | None) -> str:
    """The service of one message: the chat's, unless asked otherwise. ``iMessage`` is taken as asked
    (it fails on delivery to someone without it); ``RCS``/``SMS`` mean RCS where everyone has it, else SMS."""
    if preferred is None or preferred == chat.service:
        return chat.service
    if preferred == "iMessage":
        return "iMessage" if chat.line_type == "iMessage" else chat.service
    reachable = await ctx.carrier.reachability(chat.partner_id, recipients)
    return "RCS" if all("RCS" in services for services in reachable.values()) else "SMS"


async def thread_of(ctx: DomainContext, conn: AsyncConnection, chat: ChatRow, reply_to: dict[str, Any]) -> str:
    """The thread a reply joins: its target's (404/2002 for an unknown, deleted or other chat's message)."""
    target_id = parse_id(str(reply_to["message_id"]), MessageNotFound)
    target = await store.message_of(ctx.db, conn, chat.partner_id, target_id)
    if target is None or target.deleted_at is not None or target.chat_id != chat.id:
        raise MessageNotFound()
    if reply_to["part_index"] >= len(target.parts):
        raise InvalidParameterValue(f"The message replied to has no part {reply_to['part_index']}")
    return target.thread_id or target.id


async def replay(ctx: DomainContext, conn: AsyncConnection, partner_id: str, key: str | None) -> MessageRow | None:
    """The message an idempotency key already sent, or None; 404/2002 when that message was deleted."""
    if key is None:
        return None
    earlier = await store.message_by_key(conn, partner_id, key)
    if earlier is not None and earlier.deleted_at is not None:
        raise MessageNotFound("The message sent with this idempotency key was deleted; it is never resent")
    return earlier


async def record_outbound(
    ctx: SendContext,
    conn: AsyncConnection,
    chat: ChatRow,
    members: list[Participant],
    content: MessageContent,
    *,
    service: str,
    override_optout: bool,
    trace_id: str,
) -> MessageRow:
    """Store one outbound message in ``conn``'s transaction, after the send gates; the caller holds the chat lock.

    Precondition: no message has this idempotency key yet (``replay`` said so under the same lock).
    """
    check_for_chat(content, is_group=chat.is_group, service=service)
    recipients = [p.handle for p in members if not p.is_me and p.status == ParticipantStatus.ACTIVE]
    await check_send_gates(conn, chat, recipients, override_optout=override_optout)
    thread_id = await thread_of(ctx, conn, chat, content.reply_to) if content.reply_to else None
    now = ctx.clock.now()
    windows = await window_store.lock_windows(ctx.db, conn, chat.line_number, recipients)
    await window_store.save_windows(
        conn, chat.line_number, {r: admit(w, now, ctx.settings.messages_per_minute) for r, w in windows.items()}
    )
    message = MessageRow(
        id=str(uuid.uuid4()), chat_id=chat.id, partner_id=chat.partner_id, seq=await store.next_seq(conn, chat.id),
        is_from_me=True, sender_handle=chat.line_number, parts=content.parts, effect=content.effect,
        reply_to=content.reply_to, thread_id=thread_id, service=service, preferred_service=content.preferred_service,
        delivery_status="queued", idempotency_key=content.idempotency_key, trace_id=trace_id, error_code=None,
        error_reason=None, edit_count=0, created_at=now, updated_at=now, sent_at=None, delivered_at=None,
        read_at=None, failed_at=None, deleted_at=None,
    )  # fmt: skip
    await store.insert_message(conn, message)
    await recipient_store.insert_recipients(conn, message.id, recipients)
    await ctx.queue.enqueue(conn, SEND_JOB, {"message_id": message.id}, max_attempts=SEND_JOB_ATTEMPTS)
    # A message arriving ends the "typing…" bubble on the other side, as on a phone.
    await typing_store.clear(conn, chat.id)
    return message


async def send_to_chat(
    ctx: SendContext,
    partner_id: str,
    chat_id: str,
    raw_message: object,
    *,
    override_optout: bool,
    trace_id: str,
    base_url: str,
) -> Outbound:
    """``POST /v3/chats/{chatId}/messages``: check the content and its media, then record the message (or
    replay it). ``base_url`` starts the download links of attached files."""
    content = await resolve_media(ctx, partner_id, check_content(raw_message), base_url)
    chat_key = parse_id(chat_id, ChatNotFound)
    service = None  # the chat's, unless another is asked for (then it costs a look at the recipients first)
    if content.preferred_service is not None:
        async with ctx.db.read() as conn:
            chat = await chat_store.chat_of(ctx.db, conn, partner_id, chat_key)
            if chat is None:
                raise ChatNotFound()
            members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        recipients = [p.handle for p in members if not p.is_me and p.status == ParticipantStatus.ACTIVE]
        service = await message_service(ctx, chat, recipients, content.preferred_service)
    try:
        return await send_into(ctx, partner_id, chat_key, content, service, override_optout, trace_id)
    except IntegrityError:
        # The same key committed by a concurrent request into another chat: answer with its message.
        async with ctx.db.read() as conn:
            earlier = await replay(ctx, conn, partner_id, content.idempotency_key)
            if earlier is None:
                raise
            return await _outbound(ctx, conn, earlier)


async def send_into(
    ctx: SendContext,
    partner_id: str,
    chat_id: str,
    content: MessageContent,
    service: str | None,
    override_optout: bool,
    trace_id: str,
) -> Outbound:
    """Record ``content`` into the partner's chat under its lock, or replay the message its key already sent.

    ``service`` None sends on the chat's service."""
    async with ctx.db.write() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, chat_id, lock=True)
        if chat is None:
            raise ChatNotFound()
        earlier = await replay(ctx, conn, partner_id, content.idempotency_key)
        if earlier is not None:
            return await _outbound(ctx, conn, earlier)
        check_open(chat, (await change_store.queued_changes(conn, [chat.id]))[chat.id])
        members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        message = await record_outbound(
            ctx,
            conn,
            chat,
            members,
            content,
            service=service or chat.service,
            override_optout=override_optout,
            trace_id=trace_id,
        )
        me = next(p for p in members if p.is_me)
        return Outbound(message, handle_json(chat, me))


async def _outbound(ctx: DomainContext, conn: AsyncConnection, message: MessageRow) -> Outbound:
    chat = await chat_store.chat_of(ctx.db, conn, message.partner_id, message.chat_id)
    assert chat is not None, "a message's chat exists while the message does"
    members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
    me = next(p for p in members if p.is_me)
    return Outbound(message, handle_json(chat, me))
