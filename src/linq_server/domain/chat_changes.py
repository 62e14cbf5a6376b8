"""Carrying out queued chat changes (the ``chat.change`` job): through the carrier, then in the database.

A change the carrier refuses is recorded as failed with its reason and leaves the chat as it was.
Every change is applied at most once: a re-run after a crash finds it no longer queued.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.carrier.base import CarrierRefused
from linq_server.clock import isoformat
from linq_server.domain.chat_views import ChatView, display_name, handle_json
from linq_server.domain.chats import load_view
from linq_server.domain.participants import ADD, REMOVE
from linq_server.services import Services
from linq_server.store import chats as store
from linq_server.store.chats import ACTIVE, APPLIED, FAILED, LEFT, QUEUED, REMOVED, Change, ChatRow, Participant
from linq_server.store.jobs import Job

log = logging.getLogger("linq_server.chats")

# Linq's failure code for group updates the network could not make.
DELIVERY_FAILED = 4001
_FAILURE_EVENTS = {"rename": "chat.group_name_update_failed", "set_icon": "chat.group_icon_update_failed"}


class ChatChanges:
    """Job handler: applies one queued chat change."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, job: Job) -> None:
        change_id = str(job.payload["change_id"])
        async with self.services.db.read() as conn:
            change = await store.change_by_id(conn, change_id)
            chat = await store.chat_by_id(conn, change.chat_id) if change else None
        if change is None or chat is None or change.status != QUEUED:
            return
        try:
            await self._through_carrier(chat, change)
        except CarrierRefused as refused:
            await self._record_failure(chat, change, refused.reason)
            return
        await self._apply(chat.partner_id, change)

    async def _through_carrier(self, chat: ChatRow, change: Change) -> None:
        carrier, partner = self.services.carrier, chat.partner_id
        value = change.value or ""
        if change.kind == ADD:
            await carrier.add_member(partner, chat.id, value)
        elif change.kind == REMOVE:
            await carrier.remove_member(partner, chat.id, value)
        elif change.kind == "leave":
            await carrier.leave(partner, chat.id, chat.line_number)
        elif change.kind == "rename":
            await carrier.rename(partner, chat.id, chat.line_number, value)
        elif change.kind == "set_icon":
            await carrier.set_icon(partner, chat.id, chat.line_number, value)
        else:
            raise ValueError(f"unknown chat change {change.kind!r}")

    async def _record_failure(self, chat: ChatRow, change: Change, reason: str) -> None:
        log.info("chat change %s (%s) refused: %s", change.id, change.kind, reason)
        now = self.services.clock.now()
        async with self.services.db.write() as conn:
            await store.finish_change(conn, change.id, FAILED, now, reason)
            if change.kind in _FAILURE_EVENTS:
                await self.services.emitter.emit(
                    conn, event_type=_FAILURE_EVENTS[change.kind], partner_id=chat.partner_id,
                    trace_id=change.trace_id, phone_number=chat.line_number,
                    data={"chat_id": chat.id, "error_code": DELIVERY_FAILED, "failed_at": isoformat(now)},
                )  # fmt: skip

    async def _apply(self, partner_id: str, change: Change) -> None:
        services = self.services
        now = services.clock.now()
        async with services.db.write() as conn:
            current = await store.change_by_id(conn, change.id)
            chat = await store.chat_of(services.db, conn, partner_id, change.chat_id, lock=True)
            if current is None or current.status != QUEUED or chat is None:
                return
            view = await load_view(conn, chat)
            value = change.value or ""
            event: tuple[str, dict[str, object]] | None = None
            if change.kind == ADD:
                existing = view.participant(value)
                if existing is None or existing.status != ACTIVE:
                    joined = Participant(existing.id if existing else str(uuid.uuid4()), chat.id, value, False, ACTIVE,
                                         now, None)  # fmt: skip
                    await store.upsert_participant(conn, joined)
                    await store.update_chat(conn, chat.id, reusable=False, updated_at=now)
                    handle = handle_json(chat, joined)
                    event = ("participant.added", {"chat_id": chat.id, "handle": value, "participant": handle,
                                                   "added_at": isoformat(now)})  # fmt: skip
            elif change.kind in (REMOVE, "leave"):
                existing = view.participant(value)
                if existing is not None and existing.status == ACTIVE:
                    status = LEFT if change.kind == "leave" else REMOVED
                    gone = replace(existing, status=status, left_at=now)
                    await store.set_participant_status(conn, chat.id, value, status, now)
                    extra = {"left_at": now} if change.kind == "leave" else {}
                    await store.update_chat(conn, chat.id, reusable=False, updated_at=now, **extra)
                    event = ("participant.removed", {"chat_id": chat.id, "handle": value,
                                                     "participant": handle_json(chat, gone),
                                                     "removed_at": isoformat(now)})  # fmt: skip
            elif change.kind in ("rename", "set_icon"):
                event = await self._update_group(view, change, value, now, conn)
            await store.finish_change(conn, change.id, APPLIED, now)
            if event is not None:
                await services.emitter.emit(
                    conn, event_type=event[0], data=event[1], partner_id=chat.partner_id, trace_id=change.trace_id,
                    phone_number=chat.line_number,
                )  # fmt: skip

    async def _update_group(
        self, view: ChatView, change: Change, value: str, now: datetime, conn: AsyncConnection
    ) -> tuple[str, dict[str, object]]:
        chat = view.chat
        old: str | None
        if change.kind == "rename":
            old = display_name(view)
            await store.update_chat(conn, chat.id, custom_name=value, reusable=False, updated_at=now)
            event_type = "chat.group_name_updated"
        else:
            old = chat.group_chat_icon
            await store.update_chat(conn, chat.id, group_chat_icon=value, updated_at=now)
            event_type = "chat.group_icon_updated"
        return event_type, {
            "chat_id": chat.id, "updated_at": isoformat(now),
            "changed_by_handle": handle_json(chat, view.me), "old_value": old, "new_value": value,
        }  # fmt: skip
