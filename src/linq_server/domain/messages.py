"""Reading, listing, deleting and editing messages.

Lists page newest first on the chat's acceptance order (``seq``); threads page oldest first unless
``order=desc``. A cursor is the ``seq`` of the last message of the page before.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import ChatNotFound, InvalidParameterValue
from linq_server.domain.ids import parse_id
from linq_server.domain.message_edits import check_edit, check_edit_request
from linq_server.domain.message_errors import MessageNotFound
from linq_server.shapes.chats import handle_json, health_json
from linq_server.shapes.messages import event_chat_json, message_edited_data, message_json, reaction_json
from linq_server.store import chats as chat_store
from linq_server.store import messages as store
from linq_server.store import participants as participant_store
from linq_server.store import reactions as reaction_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ParticipantStatus
from linq_server.webhooks.emitter import Event


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        prefix, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if prefix != "seq" or not seq.isdigit():
            raise ValueError(cursor)
        return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterValue("cursor is not one this server issued") from error


def sticker_json(sticker: dict[str, Any] | None) -> dict[str, Any] | None:
    """A sticker as Linq shows it: where its image is (an emoji sticker has none to show)."""
    if sticker is None:
        return None
    return {"url": sticker.get("url"), "file_name": None, "mime_type": None, "width": None, "height": None}


def handle_of(chat: ChatRow, members: list[Participant], handle: str) -> dict[str, Any]:
    """The ChatHandle of ``handle`` in the chat (members who left stay listed; anyone else shows as removed)."""
    member = next((p for p in members if p.handle == handle), None)
    if member is None:
        member = Participant("", chat.id, handle, False, ParticipantStatus.REMOVED, chat.created_at, None)
    return handle_json(chat, member)


async def shaped(conn: AsyncConnection, chat: ChatRow, messages: list[MessageRow]) -> list[dict[str, Any]]:
    """Messages of one chat as the API shows them, with their reactions."""
    members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
    reactions = await reaction_store.reactions_of(conn, [m.id for m in messages])
    shown = []
    for message in messages:
        parts: dict[int, list[dict[str, Any]]] = {}
        for r in reactions[message.id]:
            handle = handle_of(chat, members, r.handle)
            parts.setdefault(r.part_index, []).append(
                reaction_json(
                    reaction_id=r.id,
                    handle=handle,
                    kind=r.type,
                    custom_emoji=r.custom_emoji,
                    sticker=sticker_json(r.sticker),
                )
            )
        shown.append(message_json(message, handle_of(chat, members, message.sender_handle), parts))
    return shown


async def visible_message(ctx: DomainContext, conn: AsyncConnection, partner_id: str, message_id: str, *,
                          lock: bool = False) -> tuple[MessageRow, ChatRow]:  # fmt: skip
    """The partner's message and its chat; 404/2002 for unknown, deleted or another partner's."""
    message = await store.message_of(ctx.db, conn, partner_id, parse_id(message_id, MessageNotFound), lock=lock)
    if message is None or message.deleted_at is not None:
        raise MessageNotFound()
    chat = await chat_store.chat_of(ctx.db, conn, partner_id, message.chat_id)
    assert chat is not None, "a message's chat exists while the message does"
    return message, chat


async def get_message(ctx: DomainContext, partner_id: str, message_id: str) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        message, chat = await visible_message(ctx, conn, partner_id, message_id)
        return (await shaped(conn, chat, [message]))[0]


async def list_messages(ctx: DomainContext, partner_id: str, chat_id: str, *, cursor: str | None, limit: int) -> Page:
    """A page of the chat's messages, newest first (deleted ones left out)."""
    before = decode_cursor(cursor) if cursor else None
    async with ctx.db.read() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, parse_id(chat_id, ChatNotFound))
        if chat is None:
            raise ChatNotFound()
        page = await store.page_of_messages(conn, chat.id, before_seq=before, limit=limit + 1)
        more = len(page) > limit
        page = page[:limit]
        return Page(await shaped(conn, chat, page), encode_cursor(page[-1].seq) if more else None)


async def thread(
    ctx: DomainContext, partner_id: str, message_id: str, *, order: str, cursor: str | None, limit: int
) -> Page:
    """The thread ``message_id`` belongs to (originator and replies); a message outside any thread is alone in it."""
    after = decode_cursor(cursor) if cursor else None
    async with ctx.db.read() as conn:
        message, chat = await visible_message(ctx, conn, partner_id, message_id)
        page = await store.page_of_thread(
            conn, message.thread_id or message.id, after_seq=after, limit=limit + 1, newest_first=order == "desc"
        )
        more = len(page) > limit
        page = page[:limit]
        return Page(await shaped(conn, chat, page), encode_cursor(page[-1].seq) if more else None)


async def delete_message(ctx: DomainContext, partner_id: str, message_id: str) -> None:
    """Gone from the API (recipients keep it); its idempotency key answers 404 from now on."""
    async with ctx.db.write() as conn:
        message, _chat = await visible_message(ctx, conn, partner_id, message_id, lock=True)
        now = ctx.clock.now()
        await store.update_message(conn, message.id, deleted_at=now, updated_at=now)


async def edit_message(
    ctx: DomainContext, partner_id: str, message_id: str, *, text: object, part_index: object, trace_id: str
) -> dict[str, Any]:
    """Replace the text of one text part; ``message.edited`` goes to 2026-02-03 subscriptions."""
    new_text, index = check_edit_request(text, part_index)
    async with ctx.db.write() as conn:
        message, chat = await visible_message(ctx, conn, partner_id, message_id, lock=True)
        now = ctx.clock.now()
        check_edit(
            is_from_me=message.is_from_me, service=message.service, parts=message.parts, part_index=index,
            edits_so_far=message.edit_count, sent_at=message.created_at, now=now,
        )  # fmt: skip
        parts = [dict(part) for part in message.parts]
        parts[index] = {**parts[index], "value": new_text}
        edited = replace(message, parts=parts, edit_count=message.edit_count + 1, updated_at=now)
        await store.update_message(conn, message.id, parts=parts, edit_count=edited.edit_count, updated_at=now)
        members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        me = handle_json(chat, next(p for p in members if p.is_me))
        chat_json = event_chat_json(chat_id=chat.id, is_group=chat.is_group, owner_handle=me, health=health_json(chat))
        data = message_edited_data(edited, chat=chat_json, sender=me, part_index=index, text=new_text, edited_at=now)
        await ctx.emitter.emit_all(conn, [Event("message.edited", data, partner_id, trace_id, chat.line_number)])
        return (await shaped(conn, chat, [edited]))[0]
