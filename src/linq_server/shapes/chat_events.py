"""One builder per chat webhook event: the ONE place its ``data`` is shaped (linq-python 0.65.0).

Each returns the ``Event`` to emit: of the chat's partner, filtered by the chat's line, caused by
``trace_id``. The emitter records it; tests compare what a receiver got with what these build.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from linq_server.clock import isoformat
from linq_server.domain.chat_views import ChatView
from linq_server.shapes.chats import chat_created_json, handle_json
from linq_server.store.chats import ChatRow
from linq_server.store.participants import Participant
from linq_server.webhooks.emitter import Event

# Linq's webhook error code for a group update the network could not make.
GROUP_UPDATE_FAILED = 4001


def _of_chat(chat: ChatRow, event_type: str, data: dict[str, Any], trace_id: str) -> Event:
    return Event(event_type, data, chat.partner_id, trace_id, chat.line_number)


def chat_created(view: ChatView, trace_id: str) -> Event:
    """``chat.created``: the new chat, with every participant."""
    return _of_chat(view.chat, "chat.created", chat_created_json(view), trace_id)


def participant_added(chat: ChatRow, joined: Participant, trace_id: str) -> Event:
    """``participant.added``: ``added_at`` is when the member joined."""
    data = {
        "chat_id": chat.id, "handle": joined.handle, "participant": handle_json(chat, joined),
        "added_at": isoformat(joined.joined_at),
    }  # fmt: skip
    return _of_chat(chat, "participant.added", data, trace_id)


def participant_removed(chat: ChatRow, gone: Participant, trace_id: str) -> Event:
    """``participant.removed`` (a removal, or our own line leaving): ``removed_at`` is when they left."""
    assert gone.left_at is not None, "a participant who is gone has left_at"
    data = {
        "chat_id": chat.id, "handle": gone.handle, "participant": handle_json(chat, gone),
        "removed_at": isoformat(gone.left_at),
    }  # fmt: skip
    return _of_chat(chat, "participant.removed", data, trace_id)


def _group_updated(view: ChatView, event_type: str, old: str | None, new: str, at: datetime, trace_id: str) -> Event:
    data = {
        "chat_id": view.chat.id, "updated_at": isoformat(at), "changed_by_handle": handle_json(view.chat, view.me),
        "old_value": old, "new_value": new,
    }  # fmt: skip
    return _of_chat(view.chat, event_type, data, trace_id)


def group_name_updated(view: ChatView, old: str | None, new: str, at: datetime, trace_id: str) -> Event:
    """``chat.group_name_updated``, changed by our line; ``view`` is the chat after the change."""
    return _group_updated(view, "chat.group_name_updated", old, new, at, trace_id)


def group_icon_updated(view: ChatView, old: str | None, new: str, at: datetime, trace_id: str) -> Event:
    """``chat.group_icon_updated``, changed by our line; ``view`` is the chat after the change."""
    return _group_updated(view, "chat.group_icon_updated", old, new, at, trace_id)


def _update_failed(chat: ChatRow, event_type: str, at: datetime, trace_id: str) -> Event:
    data = {"chat_id": chat.id, "error_code": GROUP_UPDATE_FAILED, "failed_at": isoformat(at)}
    return _of_chat(chat, event_type, data, trace_id)


def group_name_update_failed(chat: ChatRow, at: datetime, trace_id: str) -> Event:
    """``chat.group_name_update_failed``: the network refused the rename (error code 4001)."""
    return _update_failed(chat, "chat.group_name_update_failed", at, trace_id)


def group_icon_update_failed(chat: ChatRow, at: datetime, trace_id: str) -> Event:
    """``chat.group_icon_update_failed``: the network refused the new icon (error code 4001)."""
    return _update_failed(chat, "chat.group_icon_update_failed", at, trace_id)


def typing_indicator(chat: ChatRow, actor: Participant, started: bool, trace_id: str) -> Event:
    """``chat.typing_indicator.started`` / ``.stopped``: who is (or stopped) typing."""
    event_type = "chat.typing_indicator.started" if started else "chat.typing_indicator.stopped"
    return _of_chat(chat, event_type, {"chat_id": chat.id, "actor_handle": handle_json(chat, actor)}, trace_id)
