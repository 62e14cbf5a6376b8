"""What a simulated handle does on its own phone, through the sandbox: the far side of the chat.

Each action takes the same path as the partner's own changes (a queued change settled by the
``chat.change`` job when the carrier says it takes effect), so it emits exactly the webhooks that path emits.
"""

from __future__ import annotations

from linq_server.domain.changes import new_change, queue_changes
from linq_server.domain.chats import interactable_chat, load_view
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import NotAGroupChat, ParticipantServiceMismatch, StateConflict
from linq_server.domain.handles import parse_handle
from linq_server.domain.typing_indicators import SHOWN_FOR
from linq_server.shapes import chat_events
from linq_server.store import blocked_handles as blocked_store
from linq_server.store import chats as chat_store
from linq_server.store import member_typing as typing_store
from linq_server.store.changes import Change
from linq_server.store.jobs import Job
from linq_server.vocabulary import ChangeKind, ParticipantStatus


def check_member_leave(handle: str, me: str, status: str | None, is_group: bool, service: str,
                       queued: list[Change]) -> Change | None:  # fmt: skip
    """A member may leave an iMessage group they are active in; returns their already-queued leave, if any."""
    if not is_group:
        raise NotAGroupChat("Only members of a group chat can leave it")
    if service != "iMessage":
        raise ParticipantServiceMismatch(f"Members can leave only iMessage groups; this group uses {service}")
    if handle == me:
        raise StateConflict("Your own line leaves a group with POST /v3/chats/{chatId}/leave")
    pending = next((c for c in queued if c.kind == ChangeKind.MEMBER_LEFT and c.value == handle), None)
    if pending is not None:
        return pending
    removing = any(c.kind == ChangeKind.REMOVE_PARTICIPANT and c.value == handle for c in queued)
    if status != ParticipantStatus.ACTIVE or removing:
        raise StateConflict(f"{handle} is not a participant of this chat")
    return None


TYPING_LAPSE_JOB = "member.typing_lapse"

# Typing indicators travel over iMessage and RCS; SMS has none.
TYPING_SERVICES = ("iMessage", "RCS")


def check_member(handle: str, me: str, status: str | None) -> None:
    """Only an active member other than our line acts in a chat from the far side (409/2015)."""
    if handle == me:
        raise StateConflict("Your own line acts through the /v3 endpoints, not as a sandbox handle")
    if status != ParticipantStatus.ACTIVE:
        raise StateConflict(f"{handle} is not a participant of this chat")


def check_member_typing(handle: str, me: str, status: str | None, service: str) -> None:
    """Only an active member other than our line types, and only where the service shows typing."""
    check_member(handle, me, status)
    if service not in TYPING_SERVICES:
        raise ParticipantServiceMismatch(f"Typing indicators are not carried over {service}")


async def typing(
    ctx: DomainContext, partner_id: str, raw_handle: str, chat_id: str, is_typing: bool, trace_id: str
) -> None:
    """``raw_handle`` starts or stops typing in the partner's chat: ``chat.typing_indicator.started``/``.stopped``.

    A start shows for ``SHOWN_FOR`` (as our line's indicator does; each start refreshes it): unless stopped
    first, a ``member.typing_lapse`` job due then emits ``.stopped``."""
    handle = parse_handle(raw_handle).value
    async with ctx.db.write() as conn:
        chat, _queued = await interactable_chat(ctx, conn, partner_id, chat_id)
        view = await load_view(conn, chat)
        member = view.participant(handle)
        check_member_typing(handle, view.me.handle, member.status if member else None, chat.service)
        assert member is not None
        if await blocked_store.blocked(conn, partner_id, [handle]):
            return  # what a blocked handle does is dropped before any webhook (api-core §18)
        if is_typing:
            await typing_store.show(ctx.db, conn, chat.id, handle, ctx.clock.now() + SHOWN_FOR)
            payload = {"chat_id": chat.id, "handle": handle, "trace_id": trace_id}
            await ctx.queue.enqueue(conn, TYPING_LAPSE_JOB, payload, delay_seconds=SHOWN_FOR.total_seconds())
        else:
            await typing_store.clear(conn, chat.id, handle)
        await ctx.emitter.emit_all(conn, [chat_events.typing_indicator(chat, member, is_typing, trace_id)])


async def lapse_typing(ctx: DomainContext, job: Job) -> None:
    """``member.typing_lapse``: the indicator stops by itself unless it was stopped or started again since."""
    chat_id, handle = str(job.payload["chat_id"]), str(job.payload["handle"])
    async with ctx.db.write() as conn:
        if not await typing_store.lapsed(conn, chat_id, handle, ctx.clock.now()):
            return
        chat = (await chat_store.chats_by_ids(conn, [chat_id], lock=False)).get(chat_id)
        if chat is None:
            return
        member = (await load_view(conn, chat)).participant(handle)
        if member is not None:
            event = chat_events.typing_indicator(chat, member, False, str(job.payload["trace_id"]))
            await ctx.emitter.emit_all(conn, [event])


async def leave(ctx: DomainContext, partner_id: str, raw_handle: str, chat_id: str, trace_id: str) -> None:
    """Queue ``raw_handle`` leaving the partner's group; ``participant.removed`` follows once it is done."""
    handle = parse_handle(raw_handle).value
    async with ctx.db.write() as conn:
        chat, queued = await interactable_chat(ctx, conn, partner_id, chat_id)
        view = await load_view(conn, chat)
        member = view.participant(handle)
        same = check_member_leave(
            handle, view.me.handle, member.status if member else None, chat.is_group, chat.service, queued
        )
        if same is None:
            change = new_change(chat, ChangeKind.MEMBER_LEFT, handle, trace_id, ctx.clock.now())
            await queue_changes(ctx, conn, {chat.id: chat}, [change])
