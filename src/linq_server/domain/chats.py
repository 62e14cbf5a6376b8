"""Chats: create (or reuse), read, list, rename / set an icon, leave, mark read."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.changes import check_open, new_change, queue_changes
from linq_server.domain.chat_views import ChatView
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import (
    CannotUpdateDirectChat,
    ChatBeingCreated,
    ChatNotFound,
    InvalidParameterValue,
    MissingRequiredField,
    NotAGroupChat,
    ParticipantServiceMismatch,
    PhoneNumberPermissionDenied,
    StateConflict,
)
from linq_server.domain.handles import parse_handle, parse_phone_number
from linq_server.domain.ids import parse_id
from linq_server.domain.message_media import check_outbound_content, resolve_media
from linq_server.domain.message_parts import check_first_message, is_web_url
from linq_server.domain.message_sending import SendContext, replay
from linq_server.domain.outbox import Outbox
from linq_server.domain.send_gates import check_line_eligible
from linq_server.domain.service_selection import select_service
from linq_server.shapes import chat_events as events
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import messages as message_store
from linq_server.store import participants as participant_store
from linq_server.store import partners as partner_store
from linq_server.store.changes import Change
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ChangeKind, ParticipantStatus

MAX_RECIPIENTS = 31
MIN_ACTIVE_TO_LEAVE = 4


@dataclass(frozen=True, slots=True)
class CreatedChat:
    view: ChatView
    message: MessageRow
    is_new: bool


def new_id() -> str:
    return str(uuid.uuid4())


async def load_view(conn: AsyncConnection, chat: ChatRow) -> ChatView:
    return ChatView(chat, (await participant_store.participants_of(conn, [chat.id]))[chat.id])


async def interactable_chat(
    ctx: DomainContext, conn: AsyncConnection, partner_id: str, chat_id: str
) -> tuple[ChatRow, list[Change]]:
    """The partner's chat, locked for this write, with its queued changes; 404/2001 when it is not theirs."""
    chat = await chat_store.chat_of(ctx.db, conn, partner_id, parse_id(chat_id, ChatNotFound), lock=True)
    if chat is None:
        raise ChatNotFound()
    queued = (await change_store.queued_changes(conn, [chat.id]))[chat.id]
    check_open(chat, queued)
    return chat, queued


def recipients_of(to: list[str]) -> list[str]:
    # Counted as sent, before repeats merge: 10,000 copies of one handle are not a DM.
    if not 1 <= len(to) <= MAX_RECIPIENTS:
        raise InvalidParameterValue(f"to must list 1 to {MAX_RECIPIENTS} handles")
    return list(dict.fromkeys(parse_handle(raw).value for raw in to))


async def create_chat(
    ctx: SendContext,
    partner_id: str,
    *,
    sender: str,
    to: list[str],
    message: object,
    override_optout: bool,
    trace_id: str,
    base_url: str,
    first_message_rules: bool = True,
) -> CreatedChat:
    """Find the chat between ``sender`` and exactly ``to`` (or start one) and send ``message`` into it.

    A chat is reused unless it was named, its membership changed, or the line left it. Only a new
    chat's first message obeys the first-message rules (no links or URLs, no reply, no effect), unless
    ``first_message_rules`` is off (``POST /v3/messages``). A repeated idempotency key answers with the
    message it sent and its chat.
    """
    line_number = parse_phone_number(sender)
    recipients = recipients_of(to)
    if line_number in recipients:
        raise InvalidParameterValue("A chat cannot include its own line in to")
    content = check_outbound_content(ctx, message, base_url)
    async with ctx.db.read() as conn:
        line = await partner_store.line_by_number(conn, line_number)
    if line is None or line.partner_id != partner_id:
        raise PhoneNumberPermissionDenied()
    content = await resolve_media(ctx, partner_id, content, base_url)
    reachable = await ctx.carrier.reachability(partner_id, recipients)
    service = select_service(reachable.values(), line.line_type, content.preferred_service)
    recipient_key = ",".join(sorted(recipients))
    now = ctx.clock.now()

    async with ctx.db.write() as conn:
        earlier = await replay(ctx, conn, partner_id, content.idempotency_key)
        if earlier is not None:
            chat = await chat_store.chat_of(ctx.db, conn, partner_id, earlier.chat_id)
            assert chat is not None, "a message's chat exists while the message does"
            return CreatedChat(await load_view(conn, chat), earlier, False)
        chat = await chat_store.reusable_chat(conn, partner_id, line_number, recipient_key)
        is_new = chat is None
        if chat is None and first_message_rules:
            check_first_message(content)
        if chat is None:
            chat = ChatRow(
                id=new_id(), partner_id=partner_id, line_id=line.id, line_number=line_number,
                line_type=line.line_type, is_group=len(recipients) > 1, service=service,
                recipient_key=recipient_key, reusable=True, custom_name=None, group_chat_icon=None, left_at=None,
                created_at=now, updated_at=now, line_status=line.status, opted_out_at=None,
            )  # fmt: skip
            if not await chat_store.insert_chat(conn, chat):
                raise ChatBeingCreated()
            members = [Participant(new_id(), chat.id, line_number, True, ParticipantStatus.ACTIVE, now, None)]
            members += [
                Participant(new_id(), chat.id, handle, False, ParticipantStatus.ACTIVE, now, None)
                for handle in recipients
            ]
            await participant_store.insert_participants(conn, members)
            view = ChatView(chat, members)
            await ctx.emitter.emit_all(conn, [events.chat_created(view, trace_id)])
        else:
            view = await load_view(conn, chat)
        outbox = await Outbox.open(ctx, conn, [(chat, view.participants)])
        sent = await outbox.add(
            conn, chat, view.participants, content, service=chat.service, override_optout=override_optout,
            trace_id=trace_id,
        )  # fmt: skip
        await outbox.write(conn)
    return CreatedChat(view, sent, is_new)


async def get_chat(ctx: DomainContext, partner_id: str, chat_id: str) -> ChatView:
    async with ctx.db.read() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, parse_id(chat_id, ChatNotFound))
        if chat is None:
            raise ChatNotFound()
        return await load_view(conn, chat)


def encode_cursor(chat: ChatRow) -> str:
    return base64.urlsafe_b64encode(f"{chat.created_at.isoformat()}|{chat.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, chat_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created_at), parse_id(chat_id, InvalidParameterValue)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterValue("cursor is not one this server issued") from error


async def list_chats(
    ctx: DomainContext, partner_id: str, *, sender: str | None, to: str | None, cursor: str | None, limit: int
) -> tuple[list[ChatView], str | None]:
    """A page of the partner's chats, newest first, and the cursor of the next page (None on the last)."""
    line_number = parse_phone_number(sender) if sender else None
    participant = parse_handle(to).value if to else None
    after = decode_cursor(cursor) if cursor else None
    async with ctx.db.read() as conn:
        if line_number:
            line = await partner_store.line_by_number(conn, line_number)
            if line is None or line.partner_id != partner_id:
                raise PhoneNumberPermissionDenied()
        page = await chat_store.page_of_chats(
            conn, partner_id, line_number=line_number, participant=participant, after=after, limit=limit + 1
        )
        more = len(page) > limit
        page = page[:limit]
        members = await participant_store.participants_of(conn, [chat.id for chat in page])
    views = [ChatView(chat, members[chat.id]) for chat in page]
    return views, encode_cursor(page[-1]) if more else None


def _check_icon_url(url: str) -> str:
    if not is_web_url(url):
        raise InvalidParameterValue("group_chat_icon must be an absolute http(s) URL")
    return url


async def update_chat(
    ctx: DomainContext, partner_id: str, chat_id: str, *, display_name: str | None, icon: str | None, trace_id: str
) -> None:
    """Queue a rename and/or a new icon for a group (409/1006 for a DM); webhooks tell the outcome."""
    if display_name is None and icon is None:
        raise MissingRequiredField("Missing required field: display_name or group_chat_icon")
    if display_name is not None and not display_name.strip():
        raise InvalidParameterValue("display_name cannot be empty")
    if icon is not None:
        _check_icon_url(icon)
    async with ctx.db.write() as conn:
        chat, _queued = await interactable_chat(ctx, conn, partner_id, chat_id)
        if not chat.is_group:
            raise CannotUpdateDirectChat()
        check_line_eligible(chat.line_status)
        now = ctx.clock.now()
        changes = [new_change(chat, ChangeKind.RENAME, display_name, trace_id, now)] if display_name is not None else []
        if icon is not None:
            changes.append(new_change(chat, ChangeKind.SET_ICON, icon, trace_id, now))
        await queue_changes(ctx, conn, {chat.id: chat}, changes)


async def leave_chat(ctx: DomainContext, partner_id: str, chat_id: str, trace_id: str) -> None:
    """Queue our line's leaving an iMessage group of at least four active participants (counting us)."""
    async with ctx.db.write() as conn:
        chat, queued = await interactable_chat(ctx, conn, partner_id, chat_id)
        if not chat.is_group:
            raise NotAGroupChat("Only group chats can be left")
        if chat.service != "iMessage":
            raise ParticipantServiceMismatch(f"Only iMessage groups can be left; this group uses {chat.service}")
        check_line_eligible(chat.line_status)
        view = await load_view(conn, chat)
        leaving = {
            change.value
            for change in queued
            if change.kind.names_a_member and change.kind != ChangeKind.ADD_PARTICIPANT
        }
        if len([p for p in view.active() if p.handle not in leaving]) < MIN_ACTIVE_TO_LEAVE:
            raise StateConflict(f"A group can be left only while it has at least {MIN_ACTIVE_TO_LEAVE} participants")
        await queue_changes(
            ctx, conn, {chat.id: chat}, [new_change(chat, ChangeKind.LEAVE, view.me.handle, trace_id, ctx.clock.now())]
        )


async def mark_read(ctx: DomainContext, partner_id: str, chat_id: str) -> None:
    async with ctx.db.write() as conn:
        chat, _queued = await interactable_chat(ctx, conn, partner_id, chat_id)
        await message_store.mark_inbound_read(conn, chat.id, ctx.clock.now())
