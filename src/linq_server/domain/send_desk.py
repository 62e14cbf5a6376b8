"""Sends into existing chats, committed in groups (group commit), as ``ParticipantDesk`` does for participants.

While one transaction is committing, the next sends wait together, and one transaction then checks them
one by one in arrival order and records them all (domain/outbox.py): every send gets its own answer,
and its 202 only after the transaction holding its message (handed to the network) has committed.
A refused send changes nothing, so the others in the group are still recorded, numbered per chat in
acceptance order and counted exactly against each pair's rate-limit window. The group's chats are
locked first, then its rate-limit pairs, each in sorted order, so concurrent groups (other processes
on PostgreSQL) cannot deadlock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.changes import check_open
from linq_server.domain.errors import ChatNotFound, LinqError, batch_failure
from linq_server.domain.message_parts import MessageContent
from linq_server.domain.message_sending import Outbound, SendContext, outbound_of
from linq_server.domain.outbox import Outbox
from linq_server.shapes.chats import handle_json
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import participants as participant_store
from linq_server.store.changes import Change
from linq_server.store.chats import ChatRow
from linq_server.store.participants import Participant

log = logging.getLogger("linq_server.sends")

MAX_BATCH = 128


@dataclass
class _Send:
    partner_id: str
    chat_id: str
    content: MessageContent
    service: str | None
    override_optout: bool
    trace_id: str
    answer: asyncio.Future[Outbound] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Group:
    """What one transaction read under lock for its sends."""

    chats: dict[str, ChatRow]
    members: dict[str, list[Participant]]
    queued: dict[str, list[Change]]
    outbox: Outbox


class SendDesk:
    """Takes sends and commits them in groups; ``submit`` returns once the message is durable."""

    def __init__(self, ctx: SendContext) -> None:
        self.ctx = ctx
        self._waiting: list[_Send] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(
        self, partner_id: str, chat_id: str, content: MessageContent, service: str | None, override_optout: bool,
        trace_id: str,
    ) -> Outbound:  # fmt: skip
        """Record ``content`` into the partner's chat, or replay the message its key already sent; raises the
        rule the send breaks. ``service`` None sends on the chat's service."""
        send = _Send(partner_id, chat_id, content, service, override_optout, trace_id)
        self._waiting.append(send)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # Shielded: a client that goes away does not undo a send already in a committing group.
        return await asyncio.shield(send.answer)

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                answers = await self._answers(batch)
            except Exception as error:
                failure = batch_failure(error, log, f"committing {len(batch)} sends")
                answers = [failure for _ in batch]
            for send, answer in zip(batch, answers, strict=True):
                if isinstance(answer, Outbound):
                    send.answer.set_result(answer)
                else:
                    send.answer.set_exception(answer)

    async def _answers(self, batch: list[_Send]) -> list[Outbound | Exception]:
        try:
            return await self._commit(batch)
        except IntegrityError as clash:
            # Another process committed one of these idempotency keys meanwhile (PostgreSQL): commit each
            # send alone, so only the clashing one answers with it (and send_to_chat replays that key).
            if len(batch) == 1:
                return [clash]
            return [answer for send in batch for answer in await self._answers([send])]

    async def _commit(self, batch: list[_Send]) -> list[Outbound | Exception]:
        answers: list[Outbound | Exception] = []
        async with self.ctx.db.write() as conn:
            group = await self._lock(conn, batch)
            for send in batch:
                try:
                    answers.append(await self._record(conn, group, send))
                except LinqError as refused:
                    answers.append(refused)
            await group.outbox.write(conn)
        return answers

    async def _lock(self, conn: AsyncConnection, batch: list[_Send]) -> _Group:
        ctx = self.ctx
        chats = await chat_store.chats_by_ids(conn, sorted({s.chat_id for s in batch}), lock=True)
        members = await participant_store.participants_of(conn, list(chats))
        queued = await change_store.queued_changes(conn, list(chats))
        outbox = await Outbox.open(ctx, conn, [(chat, members[chat.id]) for chat in chats.values()])
        return _Group(chats, members, queued, outbox)

    async def _record(self, conn: AsyncConnection, group: _Group, send: _Send) -> Outbound:
        chat = group.chats.get(send.chat_id)
        if chat is None or chat.partner_id != send.partner_id:
            raise ChatNotFound()
        earlier = await group.outbox.replay(conn, send.partner_id, send.content.idempotency_key)
        if earlier is not None:
            return await outbound_of(self.ctx, conn, earlier)
        check_open(chat, group.queued[chat.id])
        members = group.members[chat.id]
        message = await group.outbox.add(
            conn, chat, members, send.content, service=send.service or chat.service,
            override_optout=send.override_optout, trace_id=send.trace_id,
        )  # fmt: skip
        me = next(p for p in members if p.is_me)
        return Outbound(message, handle_json(chat, me))
