"""Queueing chat changes: the ONE path by which a request asks for a group change.

A change is recorded as ``queued`` together with the ``chat.change`` job that will carry it out, in
the caller's transaction, so the 202 that follows is never lost. ``domain/chat_changes.py`` settles it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

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


async def queue_changes(ctx: DomainContext, conn: AsyncConnection, changes: list[Change]) -> None:
    """Record changes and the jobs that will carry them out, in the caller's transaction (a few statements)."""
    if not changes:
        return
    await change_store.insert_changes(conn, changes)
    await ctx.queue.enqueue_many(
        conn, CHANGE_JOB, [{"change_id": change.id} for change in changes], max_attempts=CHANGE_JOB_ATTEMPTS
    )
