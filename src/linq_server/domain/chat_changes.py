"""Settling queued chat changes (the ``chat.change`` job), a batch at a time.

A change's job falls due when the carrier said the change takes effect (``domain/changes.py``).
The carrier is then asked what the far side did (it answers at once); one transaction applies
every change it carried out, records every change it refused (with its reason, leaving the chat as
it was), emits the webhooks and settles the jobs. A change is applied at most once: a re-run after
a crash finds it no longer queued. A change that must wait for an earlier one (``_waits_for``)
is retried shortly, on the same clock.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.changes import operation_of
from linq_server.domain.chat_views import ChatView, display_name
from linq_server.domain.context import DomainContext
from linq_server.jobs.handlers import FINISHED, BatchResult, Outcome
from linq_server.shapes import chat_events as events
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import participants as participant_store
from linq_server.store.changes import Change
from linq_server.store.jobs import Job
from linq_server.store.participants import Participant
from linq_server.vocabulary import ChangeKind, ChangeStatus, ParticipantStatus
from linq_server.webhooks.emitter import Event

log = logging.getLogger("linq_server.chats")

# What a refused rename or icon change reports.
_FAILURE_EVENTS = {
    ChangeKind.RENAME: events.group_name_update_failed,
    ChangeKind.SET_ICON: events.group_icon_update_failed,
}


_WAIT = Outcome(0.2, "waiting for an earlier change to the same chat")


def _waits_for(change: Change, earlier: Change) -> bool:
    """Must ``change`` wait until ``earlier`` (queued before it, same chat) has settled?

    Order matters for the same member (added then removed), for two renames or two icon changes,
    and before leaving (everything asked for earlier happens first); adds of different people commute.
    """
    if change.kind == ChangeKind.LEAVE:
        return True
    if change.kind.names_a_member:
        return earlier.kind.names_a_member and earlier.value == change.value
    return earlier.kind == change.kind


def _blocked(change: Change, queued: list[Change], going_ahead: set[str]) -> bool:
    """An earlier queued change to the same chat, not going ahead in this batch, must settle first."""
    return any(
        earlier.requested_at < change.requested_at and earlier.id not in going_ahead and _waits_for(change, earlier)
        for earlier in queued
    )


@dataclass
class _Applying:
    """What one transaction writes for a batch of changes."""

    now: datetime
    inserted: list[Participant]
    updated: list[Participant]
    events: list[Event]
    outcomes: list[tuple[str, ChangeStatus, str | None]]
    membership_changed: set[str]


class ChatChanges:
    """Job handler of ``chat.change``."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def __call__(self, jobs: list[Job]) -> BatchResult:
        change_ids = [str(job.payload["change_id"]) for job in jobs]
        async with self.ctx.db.read() as conn:
            changes = await change_store.changes_by_ids(conn, change_ids, lock=False)
            chat_ids = sorted({c.chat_id for c in changes})
            chats = await chat_store.chats_by_ids(conn, chat_ids, lock=False)
            queued = await change_store.queued_changes(conn, chat_ids)
        ready: set[str] = set()
        waiting: set[str] = set()
        for change in changes:  # in the order they were asked for
            (waiting if _blocked(change, queued[change.chat_id], ready) else ready).add(change.id)
        todo = [c for c in changes if c.status == ChangeStatus.QUEUED and c.chat_id in chats and c.id not in waiting]
        answers = await self.ctx.carrier.settle([operation_of(c, chats[c.chat_id]) for c in todo])
        refusals = {change.id: reason for change, reason in zip(todo, answers, strict=True)}

        async def write(conn: AsyncConnection) -> None:
            await self._apply(conn, [c.id for c in todo], refusals)

        outcomes = {
            job.id: _WAIT if change_id in waiting else FINISHED for job, change_id in zip(jobs, change_ids, strict=True)
        }
        return BatchResult(outcomes, write)

    async def _apply(self, conn: AsyncConnection, change_ids: list[str], refusals: dict[str, str | None]) -> None:
        changes = [
            c for c in await change_store.changes_by_ids(conn, change_ids, lock=True) if c.status == ChangeStatus.QUEUED
        ]
        chats = await chat_store.chats_by_ids(conn, sorted({c.chat_id for c in changes}), lock=True)
        members = await participant_store.participants_of(conn, list(chats))
        views = {chat_id: ChatView(chat, members[chat_id]) for chat_id, chat in chats.items()}
        batch = _Applying(self.ctx.clock.now(), [], [], [], [], set())
        for change in changes:
            view = views[change.chat_id]
            reason = refusals.get(change.id)
            if reason is None and view.chat.left_at is not None:
                reason = "Your line has left this chat"
            if reason is not None:
                log.info("chat change %s (%s) refused: %s", change.id, change.kind, reason)
                batch.outcomes.append((change.id, ChangeStatus.FAILED, reason))
                if change.kind in _FAILURE_EVENTS:
                    batch.events.append(_FAILURE_EVENTS[change.kind](view.chat, batch.now, change.trace_id))
                continue
            views[change.chat_id] = await self._apply_one(conn, view, change, batch)
            batch.outcomes.append((change.id, ChangeStatus.APPLIED, None))
        if batch.inserted:
            await participant_store.insert_participants(conn, batch.inserted)
        await participant_store.update_participants(conn, batch.updated)
        await chat_store.membership_changed(conn, sorted(batch.membership_changed), batch.now)
        await change_store.finish_changes(conn, batch.outcomes, batch.now)
        await self.ctx.emitter.emit_all(conn, batch.events)

    async def _apply_one(self, conn: AsyncConnection, view: ChatView, change: Change, batch: _Applying) -> ChatView:
        """Apply one accepted change to ``view``; returns the view as it now stands."""
        chat, now, handle = view.chat, batch.now, change.value or ""
        if change.kind == ChangeKind.ADD_PARTICIPANT:
            existing = view.participant(handle)
            if existing is not None and existing.status == ParticipantStatus.ACTIVE:
                return view  # already there (added meanwhile by other means)
            joined_id = existing.id if existing else str(uuid.uuid4())
            joined = Participant(joined_id, chat.id, handle, False, ParticipantStatus.ACTIVE, now, None)
            (batch.updated if existing else batch.inserted).append(joined)
            batch.membership_changed.add(chat.id)
            batch.events.append(events.participant_added(chat, joined, change.trace_id))
            return ChatView(chat, [p for p in view.participants if p.handle != handle] + [joined])
        if change.kind in (ChangeKind.REMOVE_PARTICIPANT, ChangeKind.MEMBER_LEFT, ChangeKind.LEAVE):
            existing = view.participant(view.me.handle if change.kind == ChangeKind.LEAVE else handle)
            if existing is None or existing.status != ParticipantStatus.ACTIVE:
                return view
            gone = replace(
                existing,
                status=ParticipantStatus.REMOVED
                if change.kind == ChangeKind.REMOVE_PARTICIPANT
                else ParticipantStatus.LEFT,
                left_at=now,
            )
            batch.updated.append(gone)
            batch.membership_changed.add(chat.id)
            if change.kind == ChangeKind.LEAVE:
                await chat_store.update_chat(conn, chat.id, left_at=now)
                chat = replace(chat, left_at=now)
            batch.events.append(events.participant_removed(chat, gone, change.trace_id))
            return ChatView(chat, [gone if p.id == gone.id else p for p in view.participants])
        if change.kind == ChangeKind.RENAME:
            old = display_name(view)
            await chat_store.update_chat(conn, chat.id, custom_name=handle, reusable=False, updated_at=now)
            renamed = ChatView(replace(chat, custom_name=handle, reusable=False), view.participants)
            batch.events.append(events.group_name_updated(renamed, old, handle, now, change.trace_id))
            return renamed
        old_icon = chat.group_chat_icon
        await chat_store.update_chat(conn, chat.id, group_chat_icon=handle, updated_at=now)
        with_icon = ChatView(replace(chat, group_chat_icon=handle), view.participants)
        batch.events.append(events.group_icon_updated(with_icon, old_icon, handle, now, change.trace_id))
        return with_icon
