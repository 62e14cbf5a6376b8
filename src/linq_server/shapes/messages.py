"""Messages as the API and webhooks show them: one builder for each shape (linq-python 0.65.0).

Builders take the stored message and the already-shaped ChatHandle objects they embed, so the GET
routes, the send response and every webhook show one message the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from linq_server.clock import isoformat
from linq_server.domain.message_lifecycle import is_delivered


class StoredMessage(Protocol):
    """What the builders read of a message row."""

    @property
    def id(self) -> str: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def is_from_me(self) -> bool: ...
    @property
    def parts(self) -> list[dict[str, Any]]: ...
    @property
    def effect(self) -> dict[str, Any] | None: ...
    @property
    def reply_to(self) -> dict[str, Any] | None: ...
    @property
    def service(self) -> str: ...
    @property
    def preferred_service(self) -> str | None: ...
    @property
    def delivery_status(self) -> str: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def read_at(self) -> datetime | None: ...


def _at(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment else None


def reaction_json(
    *, reaction_id: str, handle: dict[str, Any], kind: str, custom_emoji: str | None, sticker: dict[str, Any] | None
) -> dict[str, Any]:
    """A Reaction inside ``parts[].reactions``."""
    return {
        "id": reaction_id, "handle": handle, "is_me": bool(handle.get("is_me")), "type": kind,
        "custom_emoji": custom_emoji, "sticker": sticker,
    }  # fmt: skip


def parts_json(
    message: StoredMessage, reactions: Mapping[int, Sequence[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """Response parts, each with its reactions (``[]`` when none)."""
    return [{**part, "reactions": list((reactions or {}).get(i, []))} for i, part in enumerate(message.parts)]


def message_json(
    message: StoredMessage, sender: dict[str, Any], reactions: Mapping[int, Sequence[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """A Message: ``GET /v3/messages/{id}``, list and thread items, the result of an edit."""
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "created_at": isoformat(message.created_at),
        "updated_at": isoformat(message.updated_at),
        "delivery_status": message.delivery_status,
        "is_delivered": is_delivered(message.delivery_status),
        "is_from_me": message.is_from_me,
        "is_read": message.delivery_status == "read",
        "sent_at": _at(message.sent_at),
        "delivered_at": _at(message.delivered_at),
        "read_at": _at(message.read_at),
        "effect": message.effect,
        "from": sender["handle"],
        "from_handle": sender,
        "parts": parts_json(message, reactions),
        "preferred_service": message.preferred_service,
        "service": message.service,
        "reply_to": message.reply_to,
    }


def sent_message_json(message: StoredMessage, sender: dict[str, Any]) -> dict[str, Any]:
    """A SentMessage: the ``message`` of a send response and of ``POST /v3/chats``."""
    return {
        "id": message.id,
        "created_at": isoformat(message.created_at),
        "delivery_status": message.delivery_status,
        "is_read": message.delivery_status == "read",
        "parts": parts_json(message),
        "sent_at": _at(message.sent_at),
        "delivered_at": _at(message.delivered_at),
        "effect": message.effect,
        "from_handle": sender,
        "preferred_service": message.preferred_service,
        "reply_to": message.reply_to,
        "service": message.service,
    }


def event_chat_json(
    *, chat_id: str, is_group: bool, owner_handle: dict[str, Any], health: dict[str, Any]
) -> dict[str, Any]:
    """The ``chat`` object of message events."""
    return {"id": chat_id, "is_group": is_group, "owner_handle": owner_handle, "health_status": health}


def message_event_data(message: StoredMessage, *, chat: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    """``data`` of ``message.sent`` / ``.received`` / ``.delivered`` / ``.read`` (MessageEventV2).

    The timestamps are the message's own, so each event shows the matrix of webhooks.md §10.1.
    """
    return {
        "id": message.id,
        "chat": chat,
        "direction": "outbound" if message.is_from_me else "inbound",
        "sender_handle": sender,
        "parts": list(message.parts),
        "service": message.service,
        "sent_at": _at(message.sent_at),
        "delivered_at": _at(message.delivered_at),
        "read_at": _at(message.read_at),
        "effect": message.effect,
        "reply_to": message.reply_to,
        "preferred_service": message.preferred_service,
        "idempotency_key": message.idempotency_key,
    }


def message_failed_data(message: StoredMessage, *, code: int, reason: str, failed_at: datetime) -> dict[str, Any]:
    """``data`` of ``message.failed``."""
    return {
        "code": code, "reason": reason, "failed_at": isoformat(failed_at), "message_id": message.id,
        "chat_id": message.chat_id, "service": message.service, "preferred_service": message.preferred_service,
    }  # fmt: skip


def message_edited_data(
    message: StoredMessage,
    *,
    chat: dict[str, Any],
    sender: dict[str, Any],
    part_index: int,
    text: str,
    edited_at: datetime,
) -> dict[str, Any]:
    """``data`` of ``message.edited`` (2026-02-03 subscriptions only)."""
    return {
        "id": message.id, "chat": chat, "direction": "outbound" if message.is_from_me else "inbound",
        "edited_at": isoformat(edited_at), "part": {"index": part_index, "text": text}, "sender_handle": sender,
    }  # fmt: skip


def reaction_event_data(
    *,
    message: StoredMessage,
    reaction_id: str,
    kind: str,
    part_index: int,
    reactor: dict[str, Any],
    custom_emoji: str | None,
    sticker: dict[str, Any] | None,
    reacted_at: datetime,
) -> dict[str, Any]:
    """``data`` of ``reaction.added`` / ``reaction.removed`` (ReactionEventBase)."""
    return {
        "is_from_me": bool(reactor.get("is_me")), "reaction_type": kind, "chat_id": message.chat_id,
        "message_id": message.id, "part_index": part_index, "reaction_id": reaction_id, "from_handle": reactor,
        "from": reactor["handle"], "custom_emoji": custom_emoji, "sticker": sticker,
        "reacted_at": isoformat(reacted_at), "service": message.service,
    }  # fmt: skip
