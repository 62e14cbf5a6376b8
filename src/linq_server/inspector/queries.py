"""What the inspector's pages show, read through the store and the domain (no SQL here).

Each function returns plain view objects that the templates draw; nothing here knows about HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from linq_server.domain import chats as chat_domain
from linq_server.domain import devices, sandbox, sandbox_deliveries
from linq_server.domain.chat_views import ChatView, display_name
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import ChatNotFound, InvalidParameterValue
from linq_server.domain.ids import parse_id
from linq_server.domain.sandbox_deliveries import DeliveryLog
from linq_server.store import activity as activity_store
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store import messages as message_store
from linq_server.store import participants as participant_store
from linq_server.store import reactions as reaction_store
from linq_server.store import sandbox_handles as handle_store
from linq_server.store import webhooks as webhook_store
from linq_server.store.activity import ActivityMark
from linq_server.store.changes import Change
from linq_server.store.messages import MessageRow
from linq_server.store.webhooks import Subscription
from linq_server.vocabulary import ChangeKind, MessageStatus
from linq_server.webhooks.signing import SecretBox, signatures_verify

# Enough for a screenful and then some; older ones are a link away, so a 1,000-message chat draws fast.
MESSAGES_PER_PAGE = 50
CHATS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 50

# How long a phone shows a handle typing with nothing else from them (iMessage drops it after about a minute).
TYPING_SHOWN_SECONDS = 60
TYPING_EVENTS = ["chat.typing_indicator.started", "chat.typing_indicator.stopped"]

TAPBACKS = {"love": "❤️", "like": "👍", "dislike": "👎", "laugh": "😂", "emphasize": "‼️", "question": "❓"}


@dataclass(frozen=True, slots=True)
class ChatSummary:
    view: ChatView
    name: str
    last: MessageRow | None

    @property
    def last_text(self) -> str:
        return summary_of(self.last.parts) if self.last else "No messages yet"


@dataclass(frozen=True, slots=True)
class Media:
    url: str
    filename: str
    mime_type: str

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


@dataclass(frozen=True, slots=True)
class Reaction:
    symbol: str
    handle: str


@dataclass(frozen=True, slots=True)
class Tick:
    """What a phone shows under our line's message: its label, a short mark and a style."""

    label: str
    mark: str
    style: str


@dataclass(frozen=True, slots=True)
class Bubble:
    kind: ClassVar[str] = "bubble"
    message: MessageRow
    texts: list[str]
    media: list[Media]
    reactions: list[Reaction]
    quote: str | None
    tick: Tick | None

    @property
    def at(self) -> datetime:
        return self.message.created_at


@dataclass(frozen=True, slots=True)
class Note:
    """Something that happened to the chat itself, drawn inline between the bubbles."""

    kind: ClassVar[str] = "note"
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ChatPage:
    view: ChatView
    name: str
    items: list[Bubble | Note]
    older_than: int | None  # the seq to page from for older messages, when there are any
    typing: list[str]  # who is shown typing now (newest page only)

    @property
    def members(self) -> list[str]:
        return [p.handle for p in self.view.active() if not p.is_me]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    log: DeliveryLog
    payload: str
    signature_ok: list[bool | None] = field(default_factory=list)  # per attempt; None: no headers recorded


@dataclass(frozen=True, slots=True)
class HandleView:
    handle: str
    services: list[str]
    failing: list[str]
    device: devices.Device


def summary_of(parts: list[dict[str, Any]]) -> str:
    """One line for a chat list: the first text, else what kind of thing was sent."""
    for part in parts:
        if part.get("type") == "text":
            return str(part.get("value", ""))
    kinds = {"media": "Attachment", "imessage_app": "iMessage app", "app_clip": "App Clip", "link": "Link"}
    return kinds.get(str(parts[0].get("type")), "Message") if parts else "Message"


def tick_of(message: MessageRow) -> Tick | None:
    """Delivery ticks for our line's messages; messages from others have none."""
    if not message.is_from_me:
        return None
    status = message.delivery_status
    if status == MessageStatus.FAILED:
        reason = message.error_reason or "unknown reason"
        return Tick(f"Not delivered: {reason}", "!", "failed")
    if status == MessageStatus.READ:
        return Tick("Read", "✓✓", "read")
    if status in (MessageStatus.DELIVERED, MessageStatus.RECEIVED):
        return Tick("Delivered", "✓✓", "delivered")
    if status == MessageStatus.SENT:
        return Tick("Sent", "✓", "sent")
    return Tick("Sending", "…", "pending")


def note_of(change: Change, at: datetime) -> Note:
    value = change.value or ""
    texts = {
        ChangeKind.ADD_PARTICIPANT: f"{value} joined",
        ChangeKind.REMOVE_PARTICIPANT: f"{value} was removed",
        ChangeKind.MEMBER_LEFT: f"{value} left",
        ChangeKind.LEAVE: "Your line left the group",
        ChangeKind.RENAME: f"Group named “{value}”" if value else "Group name removed",
        ChangeKind.SET_ICON: "Group icon changed" if value else "Group icon removed",
    }
    return Note(texts[change.kind], at)


async def activity(ctx: DomainContext, partner_id: str) -> ActivityMark:
    async with ctx.db.read() as conn:
        return await activity_store.activity_mark(conn, partner_id)


def mark_text(mark: ActivityMark) -> str:
    return ".".join(str(number) for number in mark)


async def chat_list(ctx: DomainContext, partner_id: str, cursor: str | None) -> tuple[list[ChatSummary], str | None]:
    views, next_cursor = await chat_domain.list_chats(
        ctx, partner_id, sender=None, to=None, cursor=cursor, limit=CHATS_PER_PAGE
    )
    async with ctx.db.read() as conn:
        last = await message_store.last_messages(conn, [v.chat.id for v in views])
    return [ChatSummary(v, display_name(v) or "(nobody)", last.get(v.chat.id)) for v in views], next_cursor


async def chat_page(ctx: DomainContext, partner_id: str, chat_id: str, before: int | None) -> ChatPage:
    """The newest page of the chat (or the page before message ``before``), oldest first, with the chat's
    own changes between them. 404 (ChatNotFound) for another partner's chat."""
    async with ctx.db.read() as conn:
        chat = await chat_store.chat_of(ctx.db, conn, partner_id, parse_id(chat_id, ChatNotFound))
        if chat is None:
            raise ChatNotFound()
        view = await chat_domain.load_view(conn, chat)
        page = await message_store.page_of_messages(conn, chat.id, before_seq=before, limit=MESSAGES_PER_PAGE + 1)
        more = len(page) > MESSAGES_PER_PAGE
        page = list(reversed(page[:MESSAGES_PER_PAGE]))
        reactions = await reaction_store.reactions_of(conn, [m.id for m in page])
        quoted_ids = [str(m.reply_to["message_id"]) for m in page if m.reply_to and m.reply_to.get("message_id")]
        shown = {m.id: m for m in page}
        quoted = await message_store.messages_in(conn, chat.id, [i for i in quoted_ids if i not in shown])
        quoted.update(shown)
        # Changes from the first shown message on (all of them on the first page of an empty chat).
        since = page[0].created_at if page and more else None
        changes = await change_store.applied_changes(conn, chat.id, since)
        if before is not None and page:
            changes = [(c, at) for c, at in changes if at <= page[-1].created_at]
        now = ctx.clock.now()
        typing_events = (
            await webhook_store.recent_events(
                conn, partner_id, TYPING_EVENTS, now - timedelta(seconds=TYPING_SHOWN_SECONDS)
            )
            if before is None
            else []
        )
    bubbles: list[Bubble | Note] = []
    for message in page:
        # A media part is stored resolved: an uploaded file's part carries its stable download link.
        media = [
            Media(str(p["url"]), str(p.get("filename") or "file"), str(p.get("mime_type") or ""))
            for p in message.parts
            if p.get("type") == "media" and p.get("url")
        ]
        quote = None
        if message.reply_to and message.reply_to.get("message_id"):
            original = quoted.get(str(message.reply_to["message_id"]))
            quote = summary_of(original.parts) if original else "an earlier message"
        bubbles.append(
            Bubble(
                message=message,
                texts=[str(p.get("value", "")) for p in message.parts if p.get("type") == "text"],
                media=media,
                reactions=[
                    Reaction(r.custom_emoji or TAPBACKS.get(r.type, "🏷️" if r.type == "sticker" else r.type), r.handle)
                    for r in reactions[message.id]
                ],
                quote=quote,
                tick=tick_of(message),
            )
        )
    notes: list[Bubble | Note] = [note_of(change, at) for change, at in changes]
    # Stable: at one instant (a stopped sandbox clock) messages come before the changes they caused.
    items = sorted(bubbles + notes, key=lambda item: (item.at, isinstance(item, Note)))
    typing = typing_now(chat.id, typing_events, page)
    return ChatPage(view, display_name(view) or "(nobody)", items, page[0].seq if more else None, typing)


def typing_now(chat_id: str, events: list[tuple[str, dict[str, Any], datetime]], page: list[MessageRow]) -> list[str]:
    """Handles whose last typing event in the chat started typing, with no message from them since."""
    latest: dict[str, tuple[bool, datetime]] = {}
    for event_type, data, at in events:
        if data.get("chat_id") == chat_id:
            latest[str(data["actor_handle"]["handle"])] = (event_type.endswith(".started"), at)
    return sorted(
        handle
        for handle, (started, at) in latest.items()
        if started and not any(m.sender_handle == handle and m.created_at >= at for m in page)
    )


def before_of(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidParameterValue("before must be a message number")
    return int(raw)


async def subscriptions(ctx: DomainContext, partner_id: str) -> list[Subscription]:
    async with ctx.db.read() as conn:
        return await webhook_store.subscriptions_of(conn, partner_id)


async def delivery_list(
    ctx: DomainContext, partner_id: str, cursor: str | None
) -> tuple[list[DeliveryLog], str | None]:
    return await sandbox_deliveries.list_deliveries(
        ctx, partner_id, event_type=None, status=None, subscription_id=None, cursor=cursor, limit=DELIVERIES_PER_PAGE
    )


async def delivery(ctx: DomainContext, secrets: SecretBox, partner_id: str, delivery_id: str) -> DeliveryView:
    """One delivery with its attempts, its event pretty-printed, and whether each attempt's signatures
    verify with the subscription's secret (None when the subscription is gone or nothing was recorded)."""
    log = await sandbox_deliveries.get_delivery(ctx, partner_id, delivery_id)
    async with ctx.db.read() as conn:
        subscription = await webhook_store.subscription_of(ctx.db, conn, partner_id, log.delivery.subscription_id)
    secret = secrets.open(subscription.secret_ciphertext) if subscription else None
    verified: list[bool | None] = [
        signatures_verify(secret, attempt.request_headers, log.delivery.body)
        if secret is not None and attempt.request_headers
        else None
        for attempt in log.attempts
    ]
    return DeliveryView(log, json.dumps(json.loads(log.delivery.body), indent=2, ensure_ascii=False), verified)


async def handles(ctx: DomainContext, partner_id: str) -> list[HandleView]:
    """Every handle the partner has met in a chat or set up in the sandbox, with what its device does."""
    async with ctx.db.read() as conn:
        known = set(await participant_store.handles_met(conn, partner_id))
        known |= set(await handle_store.overridden_handles(conn, partner_id))
    ordered = sorted(known)
    phones = await devices.devices_of(ctx, partner_id, ordered)
    views = []
    for handle in ordered:
        _value, services, failing = await sandbox.describe_handle(ctx, partner_id, handle)
        views.append(HandleView(handle, services, failing, phones[handle]))
    return views
