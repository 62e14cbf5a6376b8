"""Group participants: the rules of adding and removing, checked before the 202."""

from __future__ import annotations

from linq_server.domain.chat_views import ChatView
from linq_server.domain.chats import interactable_chat, load_view, queue_change
from linq_server.domain.errors import NotAGroupChat, ParticipantServiceMismatch, StateConflict
from linq_server.domain.handles import parse_handle
from linq_server.services import Services
from linq_server.store import chats as store
from linq_server.store.chats import Change

# 31 recipients + our line.
MAX_PARTICIPANTS = 32
MIN_PARTICIPANTS = 3
ADD, REMOVE = "add_participant", "remove_participant"


def check_add(view: ChatView, queued: list[Change], handle: str, reachable: frozenset[str]) -> Change | None:
    """Validate an add; returns the already-queued identical add (then nothing new is queued)."""
    chat = view.chat
    if not chat.is_group:
        raise NotAGroupChat()
    active = {p.handle for p in view.active()}
    if handle in active:
        raise StateConflict(f"{handle} is already a participant of this chat")
    pending = next((c for c in queued if c.kind == ADD and c.value == handle), None)
    if pending is not None:
        return pending
    adding = {c.value for c in queued if c.kind == ADD}
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
    if participant is None or participant.status != store.ACTIVE:
        raise StateConflict(f"{handle} is not a participant of this chat")
    if participant.is_me:
        raise StateConflict("Your own line leaves a group with POST /v3/chats/{chatId}/leave")
    pending = next((c for c in queued if c.kind == REMOVE and c.value == handle), None)
    if pending is not None:
        return pending
    leaving = {c.value for c in queued if c.kind in (REMOVE, "leave")}
    remaining = [p for p in view.active() if p.handle not in leaving and p.handle != handle]
    if len(remaining) < MIN_PARTICIPANTS:
        raise StateConflict(f"A group must keep at least {MIN_PARTICIPANTS} participants")
    return None


async def request_add(services: Services, partner_id: str, chat_id: str, raw_handle: str, trace_id: str) -> None:
    """Queue adding ``raw_handle`` to a group; the job and the change commit before the 202 is sent."""
    handle = parse_handle(raw_handle).value
    reachable = await services.carrier.services_of(partner_id, handle)
    async with services.db.write() as conn:
        chat = await interactable_chat(services, conn, partner_id, chat_id)
        view = await load_view(conn, chat)
        queued = await store.queued_changes(conn, chat.id)
        if check_add(view, queued, handle, reachable) is None:
            await queue_change(services, conn, chat, ADD, handle, trace_id)


async def request_remove(services: Services, partner_id: str, chat_id: str, raw_handle: str, trace_id: str) -> None:
    """Queue removing ``raw_handle`` from a group (which must keep at least three participants)."""
    handle = parse_handle(raw_handle).value
    async with services.db.write() as conn:
        chat = await interactable_chat(services, conn, partner_id, chat_id)
        view = await load_view(conn, chat)
        queued = await store.queued_changes(conn, chat.id)
        if check_remove(view, queued, handle) is None:
            await queue_change(services, conn, chat, REMOVE, handle, trace_id)
