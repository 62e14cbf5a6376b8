"""What a handle does from the far side: sends a message into a chat (creating the DM if there is none)
or reads what it was sent. The sandbox control API and the tests call these; simulated devices too.

A handle acts only in chats it is an active member of (409/2015 otherwise), never as the partner's own
line. An inbound message is ``received`` at once and emits ``message.received`` (after ``chat.created``
when it starts a chat). A whole-message opt-out keyword in a DM opts the sender out; any other
message opts them back in (api-core §6.2).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.chat_views import ChatView
from linq_server.domain.chats import interactable_chat
from linq_server.domain.context import DomainContext
from linq_server.domain.devices import DEVICE_JOB, DEVICE_JOB_ATTEMPTS
from linq_server.domain.errors import (
    ChatNotFound,
    InvalidParameterValue,
    MissingRequiredField,
    PhoneNumberPermissionDenied,
    RecipientBlocked,
)
from linq_server.domain.handle_actions import check_member
from linq_server.domain.handles import parse_handle, parse_phone_number
from linq_server.domain.ids import parse_id
from linq_server.domain.message_parts import check_parts, check_reply_to
from linq_server.domain.message_sending import thread_of
from linq_server.domain.messages import get_message
from linq_server.domain.opt_out import OptOutChange, opt_out_change
from linq_server.domain.service_selection import select_service
from linq_server.shapes.chats import chat_created_json, handle_json, health_json
from linq_server.shapes.messages import event_chat_json, message_event_data
from linq_server.store import blocked_handles as blocked_store
from linq_server.store import chats as chat_store
from linq_server.store import message_recipients as recipient_store
from linq_server.store import messages as store
from linq_server.store import opt_outs as opt_out_store
from linq_server.store import participants as participant_store
from linq_server.store import partners as partner_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ParticipantStatus
from linq_server.webhooks.emitter import Event


def _text_of(parts: list[dict[str, object]]) -> str | None:
    """The message's words when it is one text part (only such a message can be a keyword)."""
    return str(parts[0]["value"]) if len(parts) == 1 and parts[0]["type"] == "text" else None


def far_side_parts(parts: list[dict[str, Any]], attachment_ids: list[str]) -> list[dict[str, Any]]:
    """A handle's media comes by URL, each part with an id of its own: the partner's uploads (``attachment_id``)
    are not the handle's to send (400/1005)."""
    if attachment_ids:
        raise InvalidParameterValue("A sandbox handle sends media and stickers by url, not by attachment_id")
    return [{**part, "id": str(uuid.uuid4())} if part["type"] == "media" else part for part in parts]


async def receive_message(
    ctx: DomainContext,
    partner_id: str,
    *,
    sender: str,
    parts: object,
    line: str | None = None,
    chat_id: str | None = None,
    reply_to: object = None,
    message_id: str | None = None,
) -> MessageRow | None:
    """``sender`` sends ``parts`` to the partner: into ``chat_id`` (they must be an active member), or to
    ``line`` in their DM with it (created if none). ``reply_to`` ``{message_id, part_index}`` threads it
    like an outbound reply; ``message_id`` fixes the new message's id (a re-run job sends nothing twice).

    None when the partner blocked the sender: the message is dropped before any webhook (api-core §18)."""
    handle = parse_handle(sender).value
    checked = far_side_parts(*check_parts(parts))
    reply = check_reply_to(reply_to)
    if line is None and chat_id is None:
        raise MissingRequiredField("Missing required field: to or chat_id")
    line_number = parse_phone_number(line) if line is not None else None
    trace_id = secrets.token_hex(16)
    owner = None
    async with ctx.db.read() as conn:
        if line_number is not None:
            owner = await partner_store.line_by_number(conn, line_number)
        blocked = await blocked_store.blocked(conn, partner_id, [handle])
    if line_number is not None and (owner is None or owner.partner_id != partner_id):
        raise PhoneNumberPermissionDenied()
    if blocked:
        return None
    now = ctx.clock.now()
    events: list[Event] = []
    if chat_id is None:
        assert owner is not None and line_number is not None
        check_member(handle, line_number, ParticipantStatus.ACTIVE)
        reachable = await ctx.carrier.reachability(partner_id, [handle])
    async with ctx.db.write() as conn:
        if chat_id is not None:
            chat, _queued = await interactable_chat(ctx, conn, partner_id, chat_id)
            if line_number is not None and chat.line_number != line_number:
                raise InvalidParameterValue(f"This chat belongs to the line {chat.line_number}, not {line_number}")
            members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
            me = next(p for p in members if p.is_me)
            member = next((p for p in members if p.handle == handle), None)
            check_member(handle, me.handle, member.status if member else None)
        else:
            assert owner is not None and line_number is not None
            found = await chat_store.reusable_chat(conn, partner_id, line_number, handle)
            if found is None:
                service = select_service(reachable.values(), owner.line_type)
                chat, members, is_new = await _new_direct_chat(
                    ctx, conn, owner.line_type, owner.id, owner.status, partner_id, line_number, handle, service
                )
                if is_new:
                    created = chat_created_json(ChatView(chat, members))
                    events.append(Event("chat.created", created, partner_id, trace_id, line_number))
            else:
                chat = found
                members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        thread_id = await thread_of(ctx, conn, chat, reply) if reply else None
        message = MessageRow(
            id=message_id or str(uuid.uuid4()), chat_id=chat.id, partner_id=partner_id,
            seq=await store.next_seq(conn, chat.id), is_from_me=False, sender_handle=handle, parts=checked,
            effect=None, reply_to=reply, thread_id=thread_id, service=chat.service, preferred_service=None,
            delivery_status="received", idempotency_key=None, trace_id=trace_id, error_code=None, error_reason=None,
            edit_count=0, created_at=now, updated_at=now, sent_at=now, delivered_at=None, read_at=None,
            failed_at=None, deleted_at=None,
        )  # fmt: skip
        await store.insert_message(conn, message)
        change = opt_out_change(_text_of(checked), is_group=chat.is_group)
        if change == OptOutChange.OPT_OUT:
            await opt_out_store.opt_out(ctx.db, conn, partner_id, handle, chat.id, now)
            chat = replace(chat, opted_out_at=now)
        elif change == OptOutChange.OPT_IN:
            await opt_out_store.opt_in(conn, partner_id, handle)
            chat = replace(chat, opted_out_at=None)
        me_json = handle_json(chat, next(p for p in members if p.is_me))
        them = handle_json(chat, next(p for p in members if p.handle == handle))
        chat_json = event_chat_json(
            chat_id=chat.id, is_group=chat.is_group, owner_handle=me_json, health=health_json(chat)
        )
        data = message_event_data(message, chat=chat_json, sender=them)
        events.append(Event("message.received", data, partner_id, trace_id, chat.line_number))
        await ctx.emitter.emit_all(conn, events)
    return message


async def send_as(
    ctx: DomainContext,
    partner_id: str,
    sender: str,
    *,
    to: str | None,
    chat_id: str | None,
    parts: object,
    reply_to: object,
) -> dict[str, Any]:
    """``POST /sandbox/handles/{handle}/messages``: the received message as ``GET /v3/messages/{id}`` shows it.

    A blocked sender's message is dropped, as Linq drops it; the sandbox says so (403/2026) rather than
    pretend it arrived."""
    message = await receive_message(ctx, partner_id, sender=sender, parts=parts, line=to, chat_id=chat_id,
                                    reply_to=reply_to)  # fmt: skip
    if message is None:
        raise RecipientBlocked(f"The partner has blocked {sender}: its message was dropped without a webhook")
    return await get_message(ctx, partner_id, message.id)


async def _new_direct_chat(
    ctx: DomainContext,
    conn: AsyncConnection,
    line_type: str,
    line_id: str,
    line_status: str,
    partner_id: str,
    line_number: str,
    handle: str,
    service: str,
) -> tuple[ChatRow, list[Participant], bool]:
    """A new DM with ``handle``, or the one a concurrent request created first (then not new)."""
    now = ctx.clock.now()
    chat = ChatRow(
        id=str(uuid.uuid4()), partner_id=partner_id, line_id=line_id, line_number=line_number, line_type=line_type,
        is_group=False, service=service, recipient_key=handle, reusable=True, custom_name=None,
        group_chat_icon=None, left_at=None, created_at=now, updated_at=now, line_status=line_status,
        opted_out_at=None,
    )  # fmt: skip
    if not await chat_store.insert_chat(conn, chat):
        found = await chat_store.reusable_chat(conn, partner_id, line_number, handle)
        assert found is not None, "the chat that won the race exists"
        return found, (await participant_store.participants_of(conn, [found.id]))[found.id], False
    members = [
        Participant(str(uuid.uuid4()), chat.id, line_number, True, ParticipantStatus.ACTIVE, now, None),
        Participant(str(uuid.uuid4()), chat.id, handle, False, ParticipantStatus.ACTIVE, now, None),
    ]
    await participant_store.insert_participants(conn, members)
    return chat, members, True


async def read_by(ctx: DomainContext, partner_id: str, chat_id: str, reader: str) -> int:
    """``reader``'s device reads every message of the chat it has received; returns how many.

    Each read is the device's own ``read`` step (as with ``auto_read_ms``), so ``message.read`` follows only
    where the service reports reads (not SMS, not groups)."""
    handle = parse_handle(reader).value
    async with ctx.db.write() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, parse_id(chat_id, ChatNotFound))
        if chat is None:
            raise ChatNotFound()
        members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        me = next(p for p in members if p.is_me)
        member = next((p for p in members if p.handle == handle), None)
        check_member(handle, me.handle, member.status if member else None)
        unread = await recipient_store.unread_by(conn, chat.id, handle)
        payloads = [{"message_id": message_id, "handle": handle, "action": "read"} for message_id in unread]
        await ctx.queue.enqueue_many(conn, DEVICE_JOB, payloads, max_attempts=DEVICE_JOB_ATTEMPTS)
    return len(unread)
