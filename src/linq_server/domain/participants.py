"""Group participants: the rules of adding and removing, checked and committed before the 202.

Requests are committed in groups (group commit): while one transaction is committing, the next
requests wait together, and one transaction then checks and records them all. Every request still
gets its own answer, and its 202 is sent only after the transaction holding its change and job has
committed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from linq_server.domain.changes import check_open, new_change, queue_changes
from linq_server.domain.chat_views import ChatView
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import (
    ChatNotFound,
    LinqError,
    MissingRequiredField,
    NotAGroupChat,
    ParticipantServiceMismatch,
    StateConflict,
    batch_failure,
)
from linq_server.domain.handles import parse_handle
from linq_server.domain.ids import parse_id
from linq_server.domain.send_gates import check_line_eligible
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import participants as participant_store
from linq_server.store.changes import Change
from linq_server.vocabulary import ChangeKind, ParticipantStatus

log = logging.getLogger("linq_server.participants")

# 31 recipients + our line.
MAX_PARTICIPANTS = 32
MIN_PARTICIPANTS = 3
MAX_BATCH = 128


def check_add(view: ChatView, queued: list[Change], handle: str, reachable: frozenset[str]) -> Change | None:
    """Validate an add; returns the already-queued identical add (then nothing new is queued)."""
    chat = view.chat
    if not chat.is_group:
        raise NotAGroupChat()
    active = {p.handle for p in view.active()}
    if handle in active:
        raise StateConflict(f"{handle} is already a participant of this chat")
    pending = next((c for c in queued if c.kind == ChangeKind.ADD_PARTICIPANT and c.value == handle), None)
    if pending is not None:
        return pending
    adding = {c.value for c in queued if c.kind == ChangeKind.ADD_PARTICIPANT}
    if len(active) < MIN_PARTICIPANTS:
        raise StateConflict(f"Participants can be added only to groups of at least {MIN_PARTICIPANTS}")
    if len(active) + len(adding) >= MAX_PARTICIPANTS:
        raise StateConflict(f"This group already has the maximum of {MAX_PARTICIPANTS} participants")
    if chat.service not in reachable:
        raise ParticipantServiceMismatch(
            f"{handle} cannot receive {chat.service} messages, and this group uses {chat.service}; "
            "create a new chat to include them"
        )
    return None


def check_remove(view: ChatView, queued: list[Change], handle: str) -> Change | None:
    """Validate a removal; returns the already-queued identical removal (then nothing new is queued)."""
    if not view.chat.is_group:
        raise NotAGroupChat()
    participant = view.participant(handle)
    if participant is None or participant.status != ParticipantStatus.ACTIVE:
        raise StateConflict(f"{handle} is not a participant of this chat")
    if participant.is_me:
        raise StateConflict("Your own line leaves a group with POST /v3/chats/{chatId}/leave")
    pending = next((c for c in queued if c.kind == ChangeKind.REMOVE_PARTICIPANT and c.value == handle), None)
    if pending is not None:
        return pending
    leaving = {
        c.value for c in queued if c.kind in (ChangeKind.REMOVE_PARTICIPANT, ChangeKind.MEMBER_LEFT, ChangeKind.LEAVE)
    }
    remaining = [p for p in view.active() if p.handle not in leaving and p.handle != handle]
    if len(remaining) < MIN_PARTICIPANTS:
        raise StateConflict(f"A group must keep at least {MIN_PARTICIPANTS} participants")
    return None


@dataclass
class _Request:
    kind: ChangeKind
    partner_id: str
    chat_id: str
    handle: str
    trace_id: str
    answer: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class ParticipantDesk:
    """Takes add/remove requests and commits them in groups; ``submit`` returns once the change is durable."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx
        self._waiting: list[_Request] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, kind: ChangeKind, partner_id: str, chat_id: str, raw_handle: object, trace_id: str) -> None:
        """Queue adding or removing (``kind``) a handle; raises the rule it breaks, if any."""
        if raw_handle is None:
            raise MissingRequiredField("Missing required field: handle")
        request = _Request(kind, partner_id, parse_id(chat_id, ChatNotFound), parse_handle(raw_handle).value, trace_id)
        self._waiting.append(request)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        await asyncio.shield(request.answer)

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                answers = await self._commit(batch)
            except Exception as error:
                failure = batch_failure(error, log, f"committing {len(batch)} participant changes")
                answers = [failure for _ in batch]
            for request, answer in zip(batch, answers, strict=True):
                if answer is None:
                    request.answer.set_result(None)
                else:
                    request.answer.set_exception(answer)

    async def _commit(self, batch: list[_Request]) -> list[LinqError | None]:
        ctx = self.ctx
        chat_ids = sorted({r.chat_id for r in batch})
        now = ctx.clock.now()
        answers: list[LinqError | None] = []
        changes: list[Change] = []
        async with ctx.db.write() as conn:
            reachable: dict[tuple[str, str], frozenset[str]] = {}
            for partner_id in {r.partner_id for r in batch}:
                handles = sorted(
                    {r.handle for r in batch if r.partner_id == partner_id and r.kind == ChangeKind.ADD_PARTICIPANT}
                )
                if handles:
                    found = await ctx.carrier.reachability(partner_id, handles, conn)
                    reachable.update({(partner_id, h): services_ for h, services_ in found.items()})
            chats = await chat_store.chats_by_ids(conn, chat_ids, lock=True)
            members = await participant_store.participants_of(conn, list(chats))
            queued = await change_store.queued_changes(conn, list(chats))
            for request in batch:
                try:
                    chat = chats.get(request.chat_id)
                    if chat is None or chat.partner_id != request.partner_id:
                        raise ChatNotFound()
                    view, pending = ChatView(chat, members[chat.id]), queued[chat.id]
                    check_open(chat, pending)
                    check_line_eligible(chat.line_status)
                    if request.kind == ChangeKind.ADD_PARTICIPANT:
                        same = check_add(view, pending, request.handle, reachable[(request.partner_id, request.handle)])
                    else:
                        same = check_remove(view, pending, request.handle)
                    if same is None:
                        change = new_change(chat, request.kind, request.handle, request.trace_id, now)
                        pending.append(change)
                        changes.append(change)
                    answers.append(None)
                except LinqError as refused:
                    answers.append(refused)
            await queue_changes(ctx, conn, chats, changes)
        return answers
