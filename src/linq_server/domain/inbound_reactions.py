"""A handle reacts from the far side: ``reaction.added`` / ``reaction.removed`` with ``is_from_me: false``.

The same rules as our line's reactions (iMessage and RCS only: 409/2017 over SMS; stickers iMessage
only), from an active member of the chat (409/2015 otherwise) other than our line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linq_server.domain.attachment_errors import AttachmentNotFound
from linq_server.domain.changes import check_open
from linq_server.domain.context import DomainContext
from linq_server.domain.handle_actions import check_member
from linq_server.domain.handles import parse_handle
from linq_server.domain.messages import visible_message
from linq_server.domain.reaction_rules import check_reaction, check_reaction_request
from linq_server.domain.reactions import apply_reaction
from linq_server.store import changes as change_store
from linq_server.store import participants as participant_store


async def react_as(
    ctx: DomainContext, partner_id: str, raw_handle: str, message_id: str, body: Mapping[str, Any], trace_id: str
) -> None:
    """``raw_handle`` adds or removes a reaction on the partner's message (404/2002 for another partner's)."""
    handle = parse_handle(raw_handle).value
    request = check_reaction_request(body)
    if request.sticker is not None and "attachment_id" in request.sticker:
        raise AttachmentNotFound()  # a handle's sticker is an emoji or a URL
    async with ctx.db.write() as conn:
        message, chat = await visible_message(ctx, conn, partner_id, message_id, lock=True)
        check_open(chat, (await change_store.queued_changes(conn, [chat.id]))[chat.id])
        members = (await participant_store.participants_of(conn, [chat.id]))[chat.id]
        me = next(p for p in members if p.is_me)
        member = next((p for p in members if p.handle == handle), None)
        check_member(handle, me.handle, member.status if member else None)
        assert member is not None
        check_reaction(request, service=message.service, part_count=len(message.parts))
        await apply_reaction(ctx, conn, message, chat, member, request, trace_id)
