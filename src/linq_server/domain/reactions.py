"""Reactions from our line: tapbacks, custom emoji and stickers on a message part, and moving a sticker.

A line has at most one tapback or custom emoji per part (a new one replaces it, as on a phone);
stickers accumulate and cannot be removed. Our own reactions are echoed as ``reaction.added`` /
``reaction.removed`` with ``is_from_me: true`` (the spec leaves the echo open; ``is_from_me`` exists
for it). Reacting to our own messages is allowed. A sandbox handle reacts through ``apply_reaction`` too
(``domain/inbound_reactions.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.attachment_errors import AttachmentNotFound
from linq_server.domain.changes import check_open
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, ResourceNotFound
from linq_server.domain.messages import sticker_json, visible_message
from linq_server.domain.reaction_rules import (
    ReactionRequest,
    check_placement,
    check_reaction,
    check_reaction_request,
)
from linq_server.domain.send_gates import check_line_eligible
from linq_server.shapes.chats import handle_json
from linq_server.shapes.messages import reaction_event_data
from linq_server.store import changes as change_store
from linq_server.store import participants as participant_store
from linq_server.store import reactions as store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.store.reactions import ReactionRow
from linq_server.webhooks.emitter import Event


class ReactionNotFound(ResourceNotFound):
    default_message = "Reaction not found"


async def react(ctx: DomainContext, partner_id: str, message_id: str, body: Mapping[str, Any], trace_id: str) -> None:
    """``POST /v3/messages/{id}/reactions``: add or remove our line's reaction on one part."""
    request = check_reaction_request(body)
    if request.sticker is not None and "attachment_id" in request.sticker:
        raise AttachmentNotFound()  # uploads arrive with the attachments API
    async with ctx.db.write() as conn:
        message, chat = await visible_message(ctx, conn, partner_id, message_id, lock=True)
        check_open(chat, (await change_store.queued_changes(conn, [chat.id]))[chat.id])
        check_line_eligible(chat.line_status)
        check_reaction(request, service=message.service, part_count=len(message.parts))
        members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        await apply_reaction(ctx, conn, message, chat, next(p for p in members if p.is_me), request, trace_id)


async def apply_reaction(
    ctx: DomainContext, conn: AsyncConnection, message: MessageRow, chat: ChatRow, reactor: Participant,
    request: ReactionRequest, trace_id: str,
) -> None:  # fmt: skip
    """Add or remove ``reactor``'s reaction and emit ``reaction.added`` / ``.removed``.

    Precondition: ``check_reaction`` passed and the message is locked in ``conn``. A reactor has one
    tapback or custom emoji per part (a new one replaces it); stickers accumulate."""
    now = ctx.clock.now()
    theirs = [
        r for r in (await store.reactions_of(conn, [message.id]))[message.id]
        if r.handle == reactor.handle and r.is_me == reactor.is_me and r.part_index == request.part_index
        and r.type != "sticker"
    ]  # fmt: skip
    removed: list[ReactionRow] = []
    added: ReactionRow | None = None
    if request.operation == "remove":
        removed = [r for r in theirs if r.type == request.type and r.custom_emoji == request.custom_emoji]
    else:
        removed = theirs if request.type != "sticker" else []
        added = ReactionRow(
            id=str(uuid.uuid4()), message_id=message.id, part_index=request.part_index, handle=reactor.handle,
            is_me=reactor.is_me, type=request.type, custom_emoji=request.custom_emoji, sticker=request.sticker,
            created_at=now, updated_at=now,
        )  # fmt: skip
    await store.delete_reactions(conn, [r.id for r in removed])
    if added is not None:
        await store.insert_reaction(conn, added)
    shown = handle_json(chat, reactor)
    events = [
        Event(event_type, reaction_event_data(
            message=message, reaction_id=r.id, kind=r.type, part_index=r.part_index, reactor=shown,
            custom_emoji=r.custom_emoji, sticker=sticker_json(r.sticker), reacted_at=now,
        ), chat.partner_id, trace_id, chat.line_number)
        for event_type, rows in (("reaction.removed", removed), ("reaction.added", [added] if added else []))
        for r in rows
    ]  # fmt: skip
    await ctx.emitter.emit_all(conn, events)


async def move_sticker(
    ctx: DomainContext, partner_id: str, message_id: str, reaction_id: str, placement: object
) -> None:
    """``PATCH /v3/messages/{id}/reactions/{reactionId}``: move, resize or turn one of our line's stickers."""
    if placement is None:
        raise InvalidParameterValue("placement is required")
    async with ctx.db.write() as conn:
        message, _chat = await visible_message(ctx, conn, partner_id, message_id, lock=True)
        reaction = await store.reaction_by_id(conn, message.id, str(reaction_id))
        if reaction is None or not reaction.is_me:
            raise ReactionNotFound()
        if reaction.type != "sticker" or reaction.sticker is None:
            raise InvalidParameterValue("Only stickers can be moved")
        source = "emoji" if "emoji" in reaction.sticker else "image"
        placed = check_placement(placement, source=source, current=reaction.sticker["placement"])
        await store.update_sticker(conn, reaction.id, {**reaction.sticker, "placement": placed}, ctx.clock.now())
