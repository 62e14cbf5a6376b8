"""Sending a message from a partner's line: the gates of api-core §18, idempotency (§14), the per-pair
rate limit (§17), and the outbox write that hands the message to the network.

Everything happens in one write transaction holding the chat's row lock: the message is numbered in
acceptance order, counted against each recipient's window exactly, and handed to the network with its
``message.sent`` webhook and its devices' jobs, so a 202 is never lost and a crash never sends twice.
Sends into existing chats go through the ``SendDesk`` (domain/send_desk.py), which commits concurrent
sends together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import ChatNotFound, InvalidParameterValue
from linq_server.domain.ids import parse_id
from linq_server.domain.message_errors import MessageNotFound
from linq_server.domain.message_media import MediaContext, check_outbound_content, reads_urls, resolve_media
from linq_server.domain.message_parts import MessageContent
from linq_server.shapes.chats import handle_json
from linq_server.store import chats as chat_store
from linq_server.store import messages as store
from linq_server.store import participants as participant_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ParticipantStatus


class SendLimits(Protocol):
    @property
    def messages_per_minute(self) -> int:
        """Messages per rolling minute per (line, recipient) pair."""
        ...

    @property
    def carrier_delay_ms(self) -> int:
        """How long a device takes to receive a message unless its handle's override says otherwise."""
        ...


class Sends(Protocol):
    async def submit(
        self,
        partner_id: str,
        chat_id: str,
        content: MessageContent,
        service: str | None,
        override_optout: bool,
        trace_id: str,
    ) -> Outbound:
        """Record ``content`` into the partner's chat (or replay its key's message) once it is committed."""
        ...


class SendContext(MediaContext, Protocol):
    """Sending also needs the per-pair rate limit from the settings (and, for media, links and URL reads),
    and the desk that commits sends together."""

    @property
    def settings(self) -> SendLimits: ...

    @property
    def sends(self) -> Sends: ...


# Messages accepted by an earlier linq-server wait for the network in this job (domain/message_delivery.py).
SEND_JOB = "message.send"


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
    """The message an idempotency key already sent, as its 202 showed it (``as_accepted``), or None; 404/2002
    when that message was deleted."""
    if key is None:
        return None
    earlier = await store.message_by_key(conn, partner_id, key)
    if earlier is not None and earlier.deleted_at is not None:
        raise MessageNotFound("The message sent with this idempotency key was deleted; it is never resent")
    return None if earlier is None else as_accepted(earlier)


def as_accepted(message: MessageRow) -> MessageRow:
    """``message`` as the 202 that accepted it showed it: queued, before the network took it (api-core §6.6).
    A repeated idempotency key answers with this, "the original response" (§14), whatever happened since."""
    return replace(
        message, delivery_status="queued", sent_at=None, delivered_at=None, read_at=None, failed_at=None,
        error_code=None, error_reason=None, updated_at=message.created_at,
    )  # fmt: skip


def active_recipients(members: list[Participant]) -> list[str]:
    return [p.handle for p in members if not p.is_me and p.status == ParticipantStatus.ACTIVE]


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
    checked = check_outbound_content(ctx, raw_message, base_url)
    chat_key = parse_id(chat_id, ChatNotFound)
    if reads_urls(checked):
        # A chat that is not the partner's is a 404 before any URL is read, not a fetch's failure.
        async with ctx.db.read() as conn:
            if await chat_store.chat_of(ctx.db, conn, partner_id, chat_key) is None:
                raise ChatNotFound()
    content = await resolve_media(ctx, partner_id, checked, base_url)
    service = None  # the chat's, unless another is asked for (then it costs a look at the recipients first)
    if content.preferred_service is not None:
        async with ctx.db.read() as conn:
            chat = await chat_store.chat_of(ctx.db, conn, partner_id, chat_key)
            if chat is None:
                raise ChatNotFound()
            members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        recipients = active_recipients(members)
        service = await message_service(ctx, chat, recipients, content.preferred_service)
    try:
        return await ctx.sends.submit(partner_id, chat_key, content, service, override_optout, trace_id)
    except IntegrityError:
        # The same key committed by a concurrent request into another chat: answer with its message.
        async with ctx.db.read() as conn:
            earlier = await replay(ctx, conn, partner_id, content.idempotency_key)
            if earlier is None:
                raise
            return await outbound_of(ctx, conn, earlier)


async def outbound_of(ctx: DomainContext, conn: AsyncConnection, message: MessageRow) -> Outbound:
    chat = await chat_store.chat_of(ctx.db, conn, message.partner_id, message.chat_id)
    assert chat is not None, "a message's chat exists while the message does"
    members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
    me = next(p for p in members if p.is_me)
    return Outbound(message, handle_json(chat, me))
