"""Outbound messages checked one at a time and written together: the send gates, the per-pair rate limit
and the message numbers are decided in memory under the caller's locks, then every message and its
recipients go in with a few statements for the whole group, and the network takes them in the same
transaction (``message.sent`` and the devices' jobs, domain/message_delivery.py).

A send that breaks a rule raises before it changes anything here, so the sends checked before and
after it are written as if it had never been asked for.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.message_delivery import MessageDelivery
from linq_server.domain.message_parts import MessageContent, check_for_chat
from linq_server.domain.message_sending import (
    SendContext,
    active_recipients,
    replay,
    thread_of,
)
from linq_server.domain.rate_limits import PairWindows
from linq_server.domain.send_gates import GateFacts, check_send_gates, gate_facts
from linq_server.store import message_recipients as recipient_store
from linq_server.store import messages as store
from linq_server.store import send_windows as window_store
from linq_server.store import typing_indicators as typing_store
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant


class Outbox:
    """The outbound messages of one write transaction, for chats whose rows it holds locked."""

    def __init__(
        self, ctx: SendContext, chats: dict[str, tuple[ChatRow, list[Participant]]], seqs: dict[str, int],
        windows: PairWindows, facts: dict[str, GateFacts],
    ) -> None:  # fmt: skip
        self.ctx = ctx
        self.chats = chats
        self.seqs = seqs
        self.windows = windows
        self.facts = facts
        self.messages: list[MessageRow] = []
        self.recipients: dict[str, list[str]] = {}
        self.by_key: dict[tuple[str, str], MessageRow] = {}

    @classmethod
    async def open(
        cls, ctx: SendContext, conn: AsyncConnection, chats: list[tuple[ChatRow, list[Participant]]]
    ) -> Outbox:
        """Lock the chats' message numbers, then their (line, recipient) rate-limit pairs (both in sorted order,
        so concurrent transactions cannot deadlock), and read what the gates need."""
        seqs = await store.message_seqs(conn, sorted({chat.id for chat, _ in chats}))
        pairs = [(chat.line_number, handle) for chat, members in chats for handle in active_recipients(members)]
        windows = PairWindows(await window_store.lock_windows(ctx.db, conn, pairs))
        facts: dict[str, GateFacts] = {}
        for partner_id in sorted({chat.partner_id for chat, _ in chats}):
            handles = sorted({h for chat, members in chats if chat.partner_id == partner_id
                              for h in active_recipients(members)})  # fmt: skip
            facts[partner_id] = await gate_facts(conn, partner_id, handles)
        return cls(ctx, {chat.id: (chat, members) for chat, members in chats}, seqs, windows, facts)

    async def replay(self, conn: AsyncConnection, partner_id: str, key: str | None) -> MessageRow | None:
        """The message an idempotency key already sent, here or before; 404/2002 when that one was deleted."""
        if key is not None and (partner_id, key) in self.by_key:
            return self.by_key[(partner_id, key)]
        return await replay(self.ctx, conn, partner_id, key)

    async def add(
        self, conn: AsyncConnection, chat: ChatRow, members: list[Participant], content: MessageContent, *,
        service: str, override_optout: bool, trace_id: str,
    ) -> MessageRow:  # fmt: skip
        """Check one outbound message into ``chat`` and keep it for ``write``; raises the rule it breaks.

        Precondition: no message has this idempotency key yet (``replay`` said so under the same locks).
        """
        check_for_chat(content, is_group=chat.is_group, service=service)
        recipients = active_recipients(members)
        check_send_gates(self.facts[chat.partner_id], chat, recipients, override_optout=override_optout)
        thread_id = await thread_of(self.ctx, conn, chat, content.reply_to) if content.reply_to else None
        now = self.ctx.clock.now()
        self.windows.admit(chat.line_number, recipients, now, self.ctx.settings.messages_per_minute)
        # Nothing below can refuse the send: from here on it counts.
        self.seqs[chat.id] += 1
        message = MessageRow(
            id=str(uuid.uuid4()), chat_id=chat.id, partner_id=chat.partner_id, seq=self.seqs[chat.id],
            is_from_me=True, sender_handle=chat.line_number, parts=content.parts, effect=content.effect,
            reply_to=content.reply_to, thread_id=thread_id, service=service,
            preferred_service=content.preferred_service, delivery_status="queued",
            idempotency_key=content.idempotency_key, trace_id=trace_id, error_code=None, error_reason=None,
            edit_count=0, created_at=now, updated_at=now, sent_at=None, delivered_at=None, read_at=None,
            failed_at=None, deleted_at=None,
        )  # fmt: skip
        self.messages.append(message)
        self.recipients[message.id] = recipients
        if content.idempotency_key is not None:
            self.by_key[(chat.partner_id, content.idempotency_key)] = message
        return message

    async def write(self, conn: AsyncConnection) -> None:
        """Record every message added and its recipients, and hand them to the network, in ``conn``'s
        transaction."""
        if not self.messages:
            return
        chat_ids = sorted({message.chat_id for message in self.messages})
        await store.set_message_seqs(conn, {chat_id: self.seqs[chat_id] for chat_id in chat_ids})
        network = MessageDelivery(self.ctx)
        taken = await network.hand_over(conn, self.messages, self.chats, self.recipients)
        await store.insert_messages(conn, taken)
        await recipient_store.insert_recipients(conn, self.recipients)
        await window_store.save_windows(conn, self.windows.to_save())
        # A message arriving ends the "typing…" bubble on the other side, as on a phone.
        await typing_store.clear(conn, chat_ids)
