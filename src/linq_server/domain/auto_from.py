"""``POST /v3/messages``: send to recipients without choosing a line (api-core §12.2).

Reuse: a reusable chat with exactly these recipients on a line that can send (not flagged), the most
recently active, preferring one on a line not in ``exclude_from`` (a chat only on excluded lines is
still reused). New: otherwise a new chat on the first eligible line not excluded (all excluded → 400/1005;
no eligible line at all → 409). Failover: such chats exist but every one is stranded on a flagged line →
a new chat on a fresh line, the old one abandoned, and ``continuation_message`` (if given) sent in place
of ``message``. The first message may contain links here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linq_server.domain import chats
from linq_server.domain.chat_views import ChatView
from linq_server.domain.errors import InvalidParameterValue, MissingRequiredField, NoEligibleLine
from linq_server.domain.handles import parse_phone_number
from linq_server.domain.message_media import check_outbound_content, resolve_media
from linq_server.domain.message_parts import check_idempotency_key
from linq_server.domain.message_sending import SendContext, message_service, replay
from linq_server.shapes.chats import handle_json
from linq_server.store import chats as chat_store
from linq_server.store import partners as partner_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.vocabulary import LineStatus

REUSED, NEW, FAILOVER = "reused_active_chat", "new_best_number", "failover_flagged"


@dataclass(frozen=True, slots=True)
class AutoSent:
    view: ChatView
    message: MessageRow
    created_new_chat: bool
    # The abandoned chat on a flagged line, on the failover branch only.
    previous_chat_id: str | None = None

    def json(self, sent_message: dict[str, Any]) -> dict[str, Any]:
        chat = self.view.chat
        reason = FAILOVER if self.previous_chat_id else NEW if self.created_new_chat else REUSED
        return {
            "chat_id": chat.id, "created_new_chat": self.created_new_chat, "from": chat.line_number,
            "from_selection": {"reason": reason, "reused_existing_chat": not self.created_new_chat},
            "handles": [handle_json(chat, p) for p in self.view.participants], "is_group": chat.is_group,
            "message": sent_message, "service": chat.service, "previous_chat_id": self.previous_chat_id,
        }  # fmt: skip


def _check_continuation(raw: object) -> str | None:
    """The continuation text, if one was given (text only: no parts, media or effects)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"].strip():
        raise MissingRequiredField("continuation_message needs a text")
    if set(raw) - {"text"}:
        raise InvalidParameterValue("continuation_message carries only a text")
    return str(raw["text"])


def failover_message(message: dict[str, Any], continuation: str | None) -> dict[str, Any]:
    """What the failover branch sends: the continuation text in place of ``message`` when there is one
    (the idempotency key stays with the request)."""
    if continuation is None:
        return message
    replaced: dict[str, Any] = {"parts": [{"type": "text", "value": continuation}]}
    if "idempotency_key" in message:
        replaced["idempotency_key"] = message["idempotency_key"]
    return replaced


def _abandoned_for(chat: ChatRow, found: list[ChatRow]) -> str | None:
    """For a replayed request that started ``chat``: the chat it failed over from, if it did. A chat with
    the same recipients that was older must have been stranded then (a live one would have been reused)."""
    older = [c for c in found if c.id != chat.id and c.created_at < chat.created_at]
    return older[0].id if older else None


async def send_without_line(
    ctx: SendContext,
    partner_id: str,
    *,
    to: list[str],
    message: dict[str, Any],
    exclude_from: list[str] | None,
    continuation_message: object,
    override_optout: bool,
    idempotency_key: str | None,
    trace_id: str,
    base_url: str,
) -> AutoSent:
    """Pick the chat (reuse or new) and send ``message`` into it exactly once."""
    if idempotency_key is not None:
        message = {**message, "idempotency_key": check_idempotency_key(idempotency_key)}
    content = check_outbound_content(ctx, message, base_url)
    continuation = _check_continuation(continuation_message)
    recipients = chats.recipients_of(to)
    excluded = {parse_phone_number(number) for number in exclude_from or []}
    async with ctx.db.read() as conn:
        earlier = await replay(ctx, conn, partner_id, content.idempotency_key)
        found = await chat_store.reusable_chats_with(conn, partner_id, ",".join(sorted(recipients)))
        if earlier is not None:
            chat = await chat_store.chat_of(ctx.db, conn, partner_id, earlier.chat_id)
            assert chat is not None, "a message's chat exists while the message does"
            return AutoSent(
                await chats.load_view(conn, chat), earlier, created_new_chat=earlier.seq == 1,
                previous_chat_id=_abandoned_for(chat, found) if earlier.seq == 1 else None,
            )  # fmt: skip
        eligible = [line for line in await partner_store.lines_of(conn, partner_id) if line.status == LineStatus.ACTIVE]
    sendable = [chat for chat in found if chat.line_status == LineStatus.ACTIVE]
    if sendable:
        chat = next((c for c in sendable if c.line_number not in excluded), sendable[0])
        service = await message_service(ctx, chat, recipients, content.preferred_service)
        content = await resolve_media(ctx, partner_id, content, base_url)
        sent = await ctx.sends.submit(partner_id, chat.id, content, service, override_optout, trace_id)
        async with ctx.db.read() as conn:
            return AutoSent(await chats.load_view(conn, chat), sent.message, created_new_chat=False)
    if not eligible:
        raise NoEligibleLine()
    lines = [line for line in eligible if line.phone_number not in excluded]
    if not lines:
        raise InvalidParameterValue("exclude_from excludes every line this account can send from")
    abandoned = found[0].id if found else None
    created = await chats.create_chat(
        ctx, partner_id, sender=lines[0].phone_number, to=recipients,
        message=failover_message(message, continuation) if abandoned else message,
        override_optout=override_optout, trace_id=trace_id, base_url=base_url, first_message_rules=False,
    )  # fmt: skip
    return AutoSent(created.view, created.message, created_new_chat=created.is_new, previous_chat_id=abandoned)
