"""Chats as the API and webhooks show them: the ONE place for the ChatHandle, Chat and SentMessage shapes.

GET routes, POST answers and webhook events all build their JSON here.
"""

from __future__ import annotations

from typing import Any

from linq_server.clock import isoformat
from linq_server.domain.chat_views import ChatView, display_name
from linq_server.shapes.messages import sent_message_json
from linq_server.store.chats import ChatRow
from linq_server.store.messages import MessageRow
from linq_server.store.participants import Participant

HEALTH_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/chats/chat-health"


def handle_json(chat: ChatRow, participant: Participant) -> dict[str, Any]:
    """A ChatHandle. Participants who left or were removed stay listed, with ``status`` and ``left_at``."""
    return {
        "id": participant.id,
        "handle": participant.handle,
        "joined_at": isoformat(participant.joined_at),
        "service": chat.service,
        "is_me": participant.is_me,
        "left_at": isoformat(participant.left_at) if participant.left_at else None,
        "line_type": chat.line_type if participant.is_me else None,
        "status": participant.status,
    }


def health_json(chat: ChatRow) -> dict[str, Any]:
    """HEALTHY, or OPTED_OUT in the direct chat where the recipient's opt-out keyword arrived (api-core §6.2)."""
    if chat.opted_out_at is not None:
        status, anchor, since = "OPTED_OUT", "opted-out", chat.opted_out_at
    else:
        status, anchor, since = "HEALTHY", "healthy", chat.created_at
    return {"status": status, "doc_url": f"{HEALTH_DOC_URL}#{anchor}", "updated_at": isoformat(since)}


def chat_created_json(view: ChatView) -> dict[str, Any]:
    """The Chat as ``chat.created`` carries it (no ``is_archived``, no ``group_chat_icon``)."""
    chat = view.chat
    return {
        "id": chat.id,
        "created_at": isoformat(chat.created_at),
        "updated_at": isoformat(chat.updated_at),
        "display_name": display_name(view),
        "handles": [handle_json(chat, p) for p in view.participants],
        "health_status": health_json(chat),
        "is_group": chat.is_group,
        "service": chat.service,
    }


def chat_json(view: ChatView) -> dict[str, Any]:
    """The Chat of ``GET /v3/chats/{id}`` and of list pages."""
    return {**chat_created_json(view), "is_archived": False, "group_chat_icon": view.chat.group_chat_icon}


def created_chat_json(view: ChatView, message: MessageRow) -> dict[str, Any]:
    """The ``chat`` of ``POST /v3/chats``: the chat and the message just sent into it."""
    return {
        "id": view.chat.id,
        "display_name": display_name(view),
        "handles": [handle_json(view.chat, p) for p in view.participants],
        "health_status": health_json(view.chat),
        "is_group": view.chat.is_group,
        "message": sent_message_json(message, handle_json(view.chat, view.me)),
        "service": view.chat.service,
    }
