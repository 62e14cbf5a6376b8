"""The outbound lifecycle on the simulated network, as durable jobs due on the injected clock.

``hand_over``: the network takes a message (→ ``message.sent``) in the transaction that accepts it, and
each recipient's device is scheduled to receive it after its latency; an offline device waits until it
is back. (The network takes a message at once, so a job in between would only cost a hop.) ``message.device``
(``deliver`` | ``read``): a device receives (→ ``message.delivered``) or reads (→ ``message.read``) a
message, or fails to receive it (→ ``message.failed``). Every step locks the message, asks the pure
transition table what the report changes, and records the change, its webhook and its follow-up jobs
in the transaction that marks the job done (or that accepts the message): a re-run after a crash changes
nothing twice.

Groups: one ``message.delivered`` when the first member's device has the message, and no read
receipts (the spec leaves group receipts open; iMessage shows "Delivered" once, and reads per member
would be many events for one status).

A device with ``replies`` answers a delivered message that one of them matches: a ``device.reply`` job.

Fallback: a direct message whose recipient's device cannot take its service falls back along
iMessage → RCS → SMS (its ``service`` changes, ``preferred_service`` still echoes the request, and
``message.delivered`` carries the service used); with ``preferred_service: "iMessage"``, iMessage-only
content, no service left, or in a group, it fails with 4005 instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.device_replies import REPLY_JOB, REPLY_JOB_ATTEMPTS, answer_to
from linq_server.domain.devices import DELIVER, DEVICE_JOB, DEVICE_JOB_ATTEMPTS, Device, devices_of
from linq_server.domain.message_lifecycle import Report, Transition, transition
from linq_server.domain.message_sending import SendContext
from linq_server.domain.service_selection import fallback_service
from linq_server.jobs.handlers import FINISHED, BatchResult
from linq_server.shapes.chats import handle_json, health_json
from linq_server.shapes.messages import event_chat_json, message_event_data, message_failed_data
from linq_server.store import chats as chat_store
from linq_server.store import message_recipients as recipient_store
from linq_server.store import messages as store
from linq_server.store import participants as participant_store
from linq_server.store.chats import ChatRow
from linq_server.store.jobs import Job
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant
from linq_server.webhooks.emitter import Event

DELIVERY_FAILED = 4001
UNSUPPORTED_TYPE = 4005


@dataclass
class _Batch:
    """What one transaction writes: events, and device jobs by their delay in seconds."""

    now: datetime
    events: list[Event] = field(default_factory=list)
    # Column values by message id and by (message id, handle): written once each, at the end.
    messages: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    recipients: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    jobs: dict[float, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    replies: dict[float, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


class MessageDelivery:
    """The hand-over of new messages to the network, and the handlers of ``message.send`` and ``message.device``.
    A device without a latency of its own receives after ``carrier_delay_ms``."""

    def __init__(self, ctx: SendContext) -> None:
        self.ctx = ctx
        self.default_delay = ctx.settings.carrier_delay_ms / 1000

    async def _chats(
        self, conn: AsyncConnection, messages: list[MessageRow]
    ) -> dict[str, tuple[ChatRow, list[Participant]]]:
        chat_ids = sorted({m.chat_id for m in messages})
        chats = await chat_store.chats_by_ids(conn, chat_ids, lock=False)
        members = await participant_store.participants_of(conn, chat_ids)
        return {chat_id: (chat, members[chat_id]) for chat_id, chat in chats.items()}

    def _moved(
        self, batch: _Batch, message: MessageRow, chat: ChatRow, members: list[Participant], move: Transition,
        failure: tuple[int, str] | None = None,
    ) -> MessageRow:  # fmt: skip
        """The message after ``move``, its column updates and its webhook added to the batch."""
        values: dict[str, Any] = {"delivery_status": move.status, move.timestamp: batch.now, "updated_at": batch.now}
        if failure:
            values |= {"error_code": failure[0], "error_reason": failure[1]}
        moved = replace(message, **values)
        if failure:
            data = message_failed_data(moved, code=failure[0], reason=failure[1], failed_at=batch.now)
        else:
            me = handle_json(chat, next(p for p in members if p.is_me))
            chat_json = event_chat_json(
                chat_id=chat.id, is_group=chat.is_group, owner_handle=me, health=health_json(chat)
            )
            data = message_event_data(moved, chat=chat_json, sender=me)
        batch.events.append(Event(move.event_type, data, chat.partner_id, message.trace_id, chat.line_number))
        batch.messages[message.id].update(values)
        return moved

    def _schedule(self, batch: _Batch, message: MessageRow, handle: str, action: str, delay_ms: int | None) -> None:
        delay = self.default_delay if delay_ms is None else delay_ms / 1000
        batch.jobs[delay].append({"message_id": message.id, "handle": handle, "action": action})

    async def _finish(self, conn: AsyncConnection, batch: _Batch) -> None:
        await store.update_messages(conn, list(batch.messages.items()))
        await recipient_store.update_recipients(conn, list(batch.recipients.items()))
        await self.ctx.emitter.emit_all(conn, batch.events)
        for delay, payloads in batch.jobs.items():
            await self.ctx.queue.enqueue_many(
                conn, DEVICE_JOB, payloads, delay_seconds=delay, max_attempts=DEVICE_JOB_ATTEMPTS
            )
        for delay, payloads in batch.replies.items():
            await self.ctx.queue.enqueue_many(
                conn, REPLY_JOB, payloads, delay_seconds=delay, max_attempts=REPLY_JOB_ATTEMPTS
            )

    async def _devices(
        self, conn: AsyncConnection, messages: list[MessageRow], handles_of: dict[str, set[str]]
    ) -> dict[tuple[str, str], Device]:
        """The devices of each message's partner for the handles ``handles_of[message id]``, by (partner, handle)."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for message in messages:
            wanted[message.partner_id] |= handles_of.get(message.id, set())
        devices: dict[tuple[str, str], Device] = {}
        for partner_id, handles in wanted.items():
            for handle, device in (await devices_of(self.ctx, partner_id, sorted(handles), conn)).items():
                devices[(partner_id, handle)] = device
        return devices

    async def hand_over(
        self, conn: AsyncConnection, messages: list[MessageRow], chats: dict[str, tuple[ChatRow, list[Participant]]],
        recipients: dict[str, list[str]],
    ) -> list[MessageRow]:  # fmt: skip
        """The network takes messages about to be stored (→ ``message.sent``) and schedules the devices of their
        ``recipients`` (handles by message id), in ``conn``'s transaction: the one that accepts them. Returns
        the messages as taken, for the caller to insert."""
        batch = _Batch(self.ctx.clock.now())
        devices = await self._devices(conn, messages, {m.id: set(recipients[m.id]) for m in messages})
        taken = [
            self._take(batch, message, *chats[message.chat_id], recipients[message.id], devices)
            for message in messages
        ]  # fmt: skip
        batch.messages.clear()  # not stored yet: the caller inserts them as taken
        await self._finish(conn, batch)
        return taken

    async def send(self, jobs: list[Job]) -> BatchResult:
        """``message.send``: what ``hand_over`` does, for messages that an earlier linq-server accepted and left
        to this job (an upgrade with such jobs still queued loses none of them)."""
        ids = sorted({str(job.payload["message_id"]) for job in jobs})

        async def write(conn: AsyncConnection) -> None:
            batch = _Batch(self.ctx.clock.now())
            locked = await store.messages_by_ids(conn, ids, lock=True)
            chats = await self._chats(conn, list(locked.values()))
            recipients = await recipient_store.recipients_for_messages(conn, list(locked))
            pending = {
                m_id: [r.handle for r in rows if r.status == recipient_store.PENDING]
                for m_id, rows in recipients.items()
            }  # fmt: skip
            devices = await self._devices(conn, list(locked.values()), {m_id: set(h) for m_id, h in pending.items()})
            for message in locked.values():
                self._take(batch, message, *chats[message.chat_id], pending.get(message.id, []), devices)
            await self._finish(conn, batch)

        return BatchResult({job.id: FINISHED for job in jobs}, write)

    def _take(
        self, batch: _Batch, message: MessageRow, chat: ChatRow, members: list[Participant], handles: list[str],
        devices: dict[tuple[str, str], Device],
    ) -> MessageRow:  # fmt: skip
        """The network takes ``message`` (returned as it now stands); each of ``handles``' devices is scheduled
        to receive it."""
        move = transition(message.delivery_status, Report.SENT, message.service, is_group=chat.is_group)
        if move is None:
            return message
        message = self._moved(batch, message, chat, members, move)
        for handle in handles:
            device = devices[(message.partner_id, handle)]
            if not device.offline:  # an offline device gets it when it is back
                self._schedule(batch, message, handle, DELIVER, device.delivery_ms)
        return message

    async def device(self, jobs: list[Job]) -> BatchResult:
        """``message.device``: a recipient's device receives or reads a message."""
        steps = [(str(j.payload["message_id"]), str(j.payload["handle"]), str(j.payload["action"])) for j in jobs]
        ids = sorted({message_id for message_id, _, _ in steps})

        async def write(conn: AsyncConnection) -> None:
            batch = _Batch(self.ctx.clock.now())
            locked = await store.messages_by_ids(conn, ids, lock=True)
            rows = await recipient_store.recipients_of(conn, [(m, h) for m, h, _ in steps], lock=True)
            chats = await self._chats(conn, list(locked.values()))
            handles_of: dict[str, set[str]] = defaultdict(set)
            for message_id, handle, _ in steps:
                handles_of[message_id].add(handle)
            devices = await self._devices(conn, list(locked.values()), handles_of)
            for message_id, handle, action in steps:
                message, recipient = locked.get(message_id), rows.get((message_id, handle))
                if message is None or recipient is None:
                    continue
                chat, members = chats[message.chat_id]
                device = devices[(message.partner_id, handle)]
                locked[message_id] = self._step(batch, message, chat, members, recipient, device, action)
            await self._finish(conn, batch)

        return BatchResult({job.id: FINISHED for job in jobs}, write)

    def _fall_back(self, batch: _Batch, message: MessageRow, chat: ChatRow, device: Device) -> MessageRow:
        """The message on the service it falls back to for ``device`` (stored), or as it was."""
        service = fallback_service(
            message.service, preferred=message.preferred_service, receivable=device.services,
            line_type=chat.line_type, part_types={str(part["type"]) for part in message.parts},
        )  # fmt: skip
        if service is None:
            return message
        batch.messages[message.id].update(service=service, updated_at=batch.now)
        return replace(message, service=service, updated_at=batch.now)

    def _step(
        self, batch: _Batch, message: MessageRow, chat: ChatRow, members: list[Participant],
        recipient: recipient_store.Recipient, device: Device, action: str,
    ) -> MessageRow:  # fmt: skip
        """One device step; returns the message as it now stands."""
        report: Report
        failure = None
        if action == DELIVER:
            if recipient.status != recipient_store.PENDING or device.offline:
                return message
            if message.service not in device.services and not chat.is_group:
                message = self._fall_back(batch, message, chat, device)
            if message.service not in device.services:
                report, failure = (
                    Report.FAILED,
                    (UNSUPPORTED_TYPE, f"{recipient.handle} cannot receive {message.service}"),
                )
            elif DELIVER in device.failing:
                report, failure = (
                    Report.FAILED,
                    (DELIVERY_FAILED, f"The sandbox network failed to deliver to {recipient.handle}"),
                )
            else:
                report = Report.DELIVERED
            status = recipient_store.FAILED if failure else recipient_store.DELIVERED
            column = None if failure else "delivered_at"
            batch.recipients[(message.id, recipient.handle)].update(
                {"status": status} | ({column: batch.now} if column else {})
            )
            if report == Report.DELIVERED and device.auto_read_ms is not None:
                self._schedule(batch, message, recipient.handle, "read", device.auto_read_ms)
            answer = answer_to(device.replies, message.parts) if report == Report.DELIVERED else None
            if answer is not None:
                batch.replies[answer.after_ms / 1000].append({
                    "partner_id": message.partner_id, "chat_id": message.chat_id, "handle": recipient.handle,
                    "reply": answer.reply,
                })  # fmt: skip
        else:
            if recipient.status != recipient_store.DELIVERED:
                return message
            batch.recipients[(message.id, recipient.handle)].update(status=recipient_store.READ, read_at=batch.now)
            report = Report.READ
        move = transition(message.delivery_status, report, message.service, is_group=chat.is_group)
        if move is None:
            return message
        return self._moved(batch, message, chat, members, move, failure)
