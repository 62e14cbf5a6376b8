"""Every message shape validates against the SDK model it claims to be (linq-python 0.65.0)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from linq.types import Message, MessageEditedWebhookEvent, MessageFailedWebhookEvent, MessageSentWebhookEvent
from linq.types.chats import SentMessage
from linq.types.reaction_added_webhook_event import ReactionAddedWebhookEvent

from linq_server.clock import isoformat
from linq_server.domain.message_parts import check_content
from linq_server.shapes.messages import (
    event_chat_json,
    message_edited_data,
    message_event_data,
    message_failed_data,
    message_json,
    reaction_event_data,
    reaction_json,
    sent_message_json,
)
from linq_server.webhooks.events import envelope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ME = {
    "id": "p1",
    "handle": "+14155550100",
    "joined_at": isoformat(T0),
    "service": "iMessage",
    "is_me": True,
    "left_at": None,
    "line_type": "iMessage",
    "status": "active",
}
THEM = {**ME, "id": "p2", "handle": "+14155550123", "is_me": False, "line_type": None}
CHAT = event_chat_json(
    chat_id="c1",
    is_group=False,
    owner_handle=ME,
    health={"status": "HEALTHY", "doc_url": "https://docs.example", "updated_at": isoformat(T0)},
)
EVERY_PART = [
    {
        "type": "text",
        "value": "Hi Kevin 🥤",
        "text_decorations": [{"range": [0, 2], "style": "bold"}],
        "inline_stickers": [{"range": [9, 11], "url": "https://l.example/s.png"}],
    },
    {"type": "media", "url": "https://cdn.example.com/cat.jpg"},
    {"type": "text", "value": "Kevin", "mention": "+14155550123"},
]


@dataclass(frozen=True)
class Row:
    id: str = "m1"
    chat_id: str = "c1"
    is_from_me: bool = True
    parts: Any = None
    effect: dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None
    service: str = "iMessage"
    preferred_service: str | None = None
    delivery_status: str = "queued"
    idempotency_key: str | None = None
    created_at: datetime = T0
    updated_at: datetime = T0
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None


def rows() -> list[Row]:
    media_part = check_content({"parts": EVERY_PART}).parts
    media_part[1]["id"] = "a1"
    app = check_content(
        {
            "parts": [
                {
                    "type": "imessage_app",
                    "layout": {"caption": "c"},
                    "app": {"bundle_id": "b.c", "name": "n", "team_id": "ABCDE12345"},
                }
            ]
        }
    ).parts
    clip = check_content({"parts": [{"type": "app_clip", "value": "https://appclip.example/x", "caption": "Go"}]})
    link = check_content({"parts": [{"type": "link", "value": "https://example.com"}]}).parts
    read = Row(
        parts=media_part,
        delivery_status="read",
        sent_at=T0,
        delivered_at=T0,
        read_at=T0,
        effect={"type": "screen", "name": "confetti"},
        reply_to={"message_id": "m0", "part_index": 0},
        idempotency_key="k1",
        preferred_service="iMessage",
    )
    return [read, replace(read, parts=app), replace(read, parts=clip.parts), replace(read, parts=link), Row(parts=link)]


def test_message_and_sent_message_shapes() -> None:
    reaction = reaction_json(reaction_id="r1", handle=THEM, kind="love", custom_emoji=None, sticker=None)
    for row in rows():
        parsed = Message.model_validate(message_json(row, ME, {0: [reaction]}))
        assert parsed.id == row.id and parsed.is_read == (row.delivery_status == "read")
        assert (
            parsed.parts and parsed.parts[0].reactions and parsed.parts[0].reactions[0].handle.handle == THEM["handle"]
        )
        assert "reconciled_at" not in message_json(row, ME)
        sent = SentMessage.model_validate(sent_message_json(row, ME))
        assert len(sent.parts) == len(row.parts)


def _event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return envelope(
        event_type=event_type,
        event_id="e1",
        created_at=T0,
        partner_id="p",
        trace_id="t" * 32,
        webhook_version="2026-02-03",
        data=data,
    )


def test_message_event_shapes() -> None:
    for row in rows():
        for event_type in ("message.sent", "message.delivered", "message.read", "message.received"):
            parsed = MessageSentWebhookEvent.model_validate(
                _event(event_type, message_event_data(row, chat=CHAT, sender=ME))
            )
            assert parsed.data.direction == "outbound" and parsed.data.chat.owner_handle is not None
    failed = message_failed_data(rows()[0], code=4001, reason="Delivery failed", failed_at=T0 + timedelta(seconds=1))
    assert MessageFailedWebhookEvent.model_validate(_event("message.failed", failed)).data.code == 4001
    edited = message_edited_data(rows()[0], chat=CHAT, sender=ME, part_index=0, text="new", edited_at=T0)
    assert MessageEditedWebhookEvent.model_validate(_event("message.edited", edited)).data.part.text == "new"
    reaction = reaction_event_data(
        message=rows()[0],
        reaction_id="r1",
        kind="custom",
        part_index=0,
        reactor=THEM,
        custom_emoji="🦄",
        sticker=None,
        reacted_at=T0,
    )
    parsed = ReactionAddedWebhookEvent.model_validate(_event("reaction.added", reaction))
    assert parsed.data.custom_emoji == "🦄" and parsed.data.is_from_me is False
