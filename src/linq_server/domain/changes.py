"""Queueing chat changes: the ONE path by which a request asks for a group change.

A change is recorded as ``queued`` together with the ``chat.change`` job that will settle it, in the
caller's transaction, so the 202 that follows is never lost. The carrier accepts the change at once
and says when it takes effect on the network; the job is due then, on the injected clock (a manual
clock in tests steps it). ``domain/chat_changes.py`` settles it when due.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.carrier.base import GroupOperation
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import ChatUnavailable
from linq_server.store import changes as change_store
from linq_server.store.changes import Change
from linq_server.store.chats import ChatRow
from linq_server.vocabulary import ChangeKind, ChangeStatus

CHANGE_JOB = "chat.change"
# A change may wait (each wait is an attempt) for an earlier change to the same chat to settle first.
CHANGE_JOB_ATTEMPTS = 50


def check_open(chat: ChatRow, queued: list[Change]) -> None:
    """409/2013 once our line left the chat, or its leaving is queued: the chat takes no more changes."""
    if chat.left_at is not None or any(change.kind == ChangeKind.LEAVE for change in queued):
        raise ChatUnavailable()


def new_change(chat: ChatRow, kind: ChangeKind, value: str | None, trace_id: str, now: datetime) -> Change:
    """A change to ``chat`` as first recorded: queued, requested ``now``."""
    return Change(
        id=str(uuid.uuid4()), chat_id=chat.id, kind=kind, value=value, status=ChangeStatus.QUEUED, error=None,
        trace_id=trace_id, requested_at=now,
    )  # fmt: skip


def operation_of(change: Change, chat: ChatRow) -> GroupOperation:
    """The network operation for a change; leave, rename and set_icon concern our own line."""
    member = change.value or "" if change.kind.names_a_member else chat.line_number
    value = change.value if change.kind in (ChangeKind.RENAME, ChangeKind.SET_ICON) else None
    return GroupOperation(change.kind, chat.partner_id, chat.id, member, value)


async def queue_changes(
    ctx: DomainContext, conn: AsyncConnection, chats: Mapping[str, ChatRow], changes: list[Change]
) -> None:
    """Record changes, and for each a job due when the carrier says it takes effect, in the caller's transaction."""
    if not changes:
        return
    await change_store.insert_changes(conn, changes)
    delays = ctx.carrier.accept([operation_of(change, chats[change.chat_id]) for change in changes])
    timed = [({"change_id": change.id}, delay) for change, delay in zip(changes, delays, strict=True)]
    await ctx.queue.schedule(conn, CHANGE_JOB, timed, max_attempts=CHANGE_JOB_ATTEMPTS)
