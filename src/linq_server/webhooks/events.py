"""Event types, the envelope every event shares, and one builder per event type we emit.

Shapes follow linq-python 0.65.0 (webhook_version 2026-02-03).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from linq_server.clock import isoformat

# The 75 WebhookEventType values, in the SDK's order.
EVENT_TYPES: tuple[str, ...] = (
    "message.sent", "message.received", "message.read", "message.delivered", "message.failed", "message.edited",
    "reaction.added", "reaction.removed",
    "poll.received", "poll.failed", "poll.sent", "poll.delivered", "poll.read", "poll.updated",
    "poll.vote.added", "poll.vote.removed", "poll.reaction.added",
    "participant.added", "participant.removed",
    "chat.created", "chat.group_name_updated", "chat.group_icon_updated", "chat.group_name_update_failed",
    "chat.group_icon_update_failed", "chat.background_updated", "chat.background_update_failed",
    "chat.typing_indicator.started", "chat.typing_indicator.stopped",
    "phone_number.status_updated", "phone_number.assigned", "phone_number.released",
    "contact_card.received",
    "call.initiated", "call.ringing", "call.answered", "call.ended", "call.failed", "call.declined", "call.no_answer",
    "location.sharing.started", "location.sharing.stopped",
    "payment.succeeded", "payment.canceled", "payment.expired", "payment.declined", "payment.authorized",
    "connection.created", "connection.revoked",
    "zero_day_retention.updated", "phone_number.forwarding_updated", "environment.line_moved",
    "contact_card.created", "contact_card.updated", "contact_card.deleted",
    "api_token.created", "api_token.renamed", "api_token.expiry_scheduled", "api_token.expired",
    "api_token.activated", "api_token.deleted",
    "environment.created", "environment.renamed", "environment.deleted",
    "webhook_subscription.created", "webhook_subscription.deleted", "webhook_subscription.target_url_changed",
    "webhook_subscription.enabled", "webhook_subscription.disabled", "webhook_subscription.events.updated",
    "webhook_subscription.phone_numbers.updated", "webhook_subscription.routing_headers_set",
    "webhook_subscription.routing_headers_cleared",
    "team_member.added", "team_member.signed_in", "team_member.signed_out",
)  # fmt: skip

EVENTS_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/webhooks/events"
CURRENT_WEBHOOK_VERSION = "2026-02-03"
WEBHOOK_VERSIONS = ("2025-01-01", CURRENT_WEBHOOK_VERSION)
# Events that exist only in the newer payload version.
V2_ONLY_EVENTS = frozenset({"message.edited"})


def envelope(
    *,
    event_type: str,
    event_id: str,
    created_at: datetime,
    partner_id: str,
    trace_id: str,
    webhook_version: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "api_version": "v3",
        "webhook_version": webhook_version,
        "event_type": event_type,
        "event_id": event_id,
        "created_at": isoformat(created_at),
        "trace_id": trace_id,
        "partner_id": partner_id,
        "data": data,
    }


def envelope_body(
    *,
    event_type: str,
    event_id: str,
    created_at: datetime,
    partner_id: str,
    trace_id: str,
    webhook_version: str,
    data_json: str,
) -> str:
    """``envelope(...)`` as the compact JSON a delivery sends, with ``data`` given already encoded: an event's
    data is encoded once for its own row and every subscription's body (``data`` is the envelope's last key)."""
    fields = envelope(
        event_type=event_type, event_id=event_id, created_at=created_at, partner_id=partner_id, trace_id=trace_id,
        webhook_version=webhook_version, data={},
    )  # fmt: skip
    head = json.dumps(fields, separators=(",", ":"))
    return f"{head.removesuffix('{}}')}{data_json}}}"


def public_url(url: str) -> str:
    """A URL as account events show it: no credentials, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def subscription_activity(
    *,
    summary: str,
    occurred_at: datetime,
    subscription_id: str,
    target_url: str,
    events: list[str] | None = None,
    change: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """``data`` of the ``webhook_subscription.*`` account events, for a change made through the API."""
    subscription: dict[str, Any] = {"id": subscription_id, "target_url": public_url(target_url)}
    if events is not None:
        subscription["events"] = events
    data: dict[str, Any] = {
        "summary": summary,
        "occurred_at": isoformat(occurred_at),
        "actor": {"type": "api"},
        "origin": "api",
        "webhook_subscription": subscription,
    }
    if change is not None:
        data["change"] = {"from": change[0], "to": change[1]}
    return data
