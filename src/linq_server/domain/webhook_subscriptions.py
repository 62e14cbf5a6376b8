"""Webhook subscriptions: the rules of create, update and delete, and the account events they emit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from linq_server.domain.context import SubscriptionContext
from linq_server.domain.errors import InvalidParameterValue, StateConflict, WebhookSubscriptionNotFound
from linq_server.domain.handles import parse_phone_number
from linq_server.domain.ids import parse_id
from linq_server.store import webhooks as store
from linq_server.store.webhooks import Subscription
from linq_server.webhooks.events import EVENT_TYPES, public_url, subscription_activity
from linq_server.webhooks.relay_targets import is_own_relay_target
from linq_server.webhooks.signing import generate_signing_secret
from linq_server.webhooks.targets import check_public_destination, check_target_url

_KNOWN_EVENTS = frozenset(EVENT_TYPES)
DEFAULT_ROUTING_ID_HEADER = "Linq-Chat-Id"


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    subscription: Subscription
    signing_secret: str


@dataclass(frozen=True, slots=True)
class SubscriptionChanges:
    """What a PUT asked for; only the fields named in ``given`` were sent (the others keep their value)."""

    target_url: str | None = None
    subscribed_events: list[str] | None = None
    is_active: bool | None = None
    phone_numbers: list[str] | None = None
    routing_id_header: str | None = None
    routing_key_header: str | None = None
    given: frozenset[str] = frozenset()


def check_event_types(events: list[str]) -> list[str]:
    """A non-empty list of known event types, without repeats (order kept); 400/1005 otherwise."""
    if not events:
        raise InvalidParameterValue("subscribed_events must list at least one event type")
    unknown = [event for event in events if event not in _KNOWN_EVENTS]
    if unknown:
        raise InvalidParameterValue(f"Unknown event type(s): {', '.join(map(str, unknown))}")
    return list(dict.fromkeys(events))


def _phone_filter(numbers: list[str] | None) -> list[str] | None:
    return [parse_phone_number(number) for number in numbers] if numbers else None


MAX_HEADER_NAME = 100
# RFC 9110 §5.6.2 tchar: anything else (spaces, controls, non-ASCII) can never be sent as a header name.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _header(value: str | None, field: str) -> str | None:
    """A routing header name, or None for "none" (null or ""); 400/1005 when it is not an HTTP token."""
    name = value or ""
    if len(name) > MAX_HEADER_NAME or not _TOKEN_CHARS.issuperset(name):
        raise InvalidParameterValue(
            f"{field} must be an HTTP header name: 1 to {MAX_HEADER_NAME} letters, digits or !#$%&'*+-.^_`|~"
        )
    return name or None


async def _check_target(ctx: SubscriptionContext, url: str) -> None:
    check_target_url(url)
    if not ctx.settings.sandbox and not is_own_relay_target(url, ctx.settings.public_url):
        await check_public_destination(url)


async def create_subscription(
    ctx: SubscriptionContext,
    partner_id: str,
    *,
    target_url: str,
    subscribed_events: list[str],
    phone_numbers: list[str] | None,
    routing_id_header: str | None,
    routing_key_header: str | None,
    trace_id: str,
    signing_secret: str | None = None,
) -> CreatedSubscription:
    """Create a subscription; its signing secret is returned here once and stored only encrypted.

    ``signing_secret`` (already checked) seeds a sandbox with a known secret; the API always generates one.
    """
    await _check_target(ctx, target_url)
    events = check_event_types(subscribed_events)
    secret = signing_secret or generate_signing_secret()
    now = ctx.clock.now()
    key_header = _header(routing_key_header, "routing_key_header")
    # Checked even when it goes unused (no key header): a name that can never be sent is refused, not ignored.
    id_header = _header(routing_id_header, "routing_id_header")
    subscription = Subscription(
        id=str(uuid.uuid4()), partner_id=partner_id, target_url=target_url,
        secret_ciphertext=ctx.secrets.seal(secret), subscribed_events=events,
        phone_numbers=_phone_filter(phone_numbers), is_active=True,
        routing_id_header=(id_header or DEFAULT_ROUTING_ID_HEADER) if key_header else None,
        routing_key_header=key_header, created_at=now, updated_at=now,
    )  # fmt: skip
    async with ctx.db.write() as conn:
        if not await store.insert_subscription(conn, subscription):
            raise StateConflict("A webhook subscription for this target_url already exists")
        await ctx.emitter.emit(
            conn, event_type="webhook_subscription.created", partner_id=partner_id, trace_id=trace_id,
            data=subscription_activity(
                summary=f"Webhook subscription created for {target_url}", occurred_at=now,
                subscription_id=subscription.id, target_url=target_url, events=events,
            ),
        )  # fmt: skip
    return CreatedSubscription(subscription, secret)


async def get_subscription(ctx: SubscriptionContext, partner_id: str, subscription_id: str) -> Subscription:
    async with ctx.db.read() as conn:
        subscription = await store.subscription_of(
            ctx.db, conn, partner_id, parse_id(subscription_id, WebhookSubscriptionNotFound)
        )
    if subscription is None:
        raise WebhookSubscriptionNotFound()
    return subscription


async def list_subscriptions(ctx: SubscriptionContext, partner_id: str) -> list[Subscription]:
    async with ctx.db.read() as conn:
        return await store.subscriptions_of(conn, partner_id)


def _account_events(before: Subscription, after: Subscription) -> list[tuple[str, str, tuple[Any, Any] | None]]:
    """(event type, summary, change) for each thing a PUT changed, named as Linq's account events are."""
    changes: list[tuple[str, str, tuple[Any, Any] | None]] = []
    if before.target_url != after.target_url:
        change = (public_url(before.target_url), public_url(after.target_url))
        changes.append(("webhook_subscription.target_url_changed", "Webhook target URL changed", change))
    if before.subscribed_events != after.subscribed_events:
        events_change = (before.subscribed_events, after.subscribed_events)
        changes.append(("webhook_subscription.events.updated", "Webhook subscribed events updated", events_change))
    if before.phone_numbers != after.phone_numbers:
        numbers_change = (before.phone_numbers, after.phone_numbers)
        changes.append(
            ("webhook_subscription.phone_numbers.updated", "Webhook phone number filter updated", numbers_change)
        )
    if (before.routing_key_header, before.routing_id_header) != (after.routing_key_header, after.routing_id_header):
        routing_change = (before.routing_key_header, after.routing_key_header)
        if after.routing_key_header:
            changes.append(("webhook_subscription.routing_headers_set", "Webhook routing headers set", routing_change))
        else:
            changes.append(
                ("webhook_subscription.routing_headers_cleared", "Webhook routing headers cleared", routing_change)
            )
    if before.is_active != after.is_active:
        if after.is_active:
            changes.append(("webhook_subscription.enabled", "Webhook subscription enabled", None))
        else:
            changes.append(("webhook_subscription.disabled", "Webhook subscription disabled", None))
    return changes


async def update_subscription(
    ctx: SubscriptionContext, partner_id: str, subscription_id: str, changes: SubscriptionChanges, trace_id: str
) -> Subscription:
    """Apply a PUT (keys left out keep their value) and emit one account event per kind of change."""
    given = changes.given
    if "target_url" in given:
        if changes.target_url is None:
            raise InvalidParameterValue("target_url cannot be null")
        await _check_target(ctx, changes.target_url)
    events = check_event_types(changes.subscribed_events or []) if "subscribed_events" in given else None
    if "is_active" in given and changes.is_active is None:
        raise InvalidParameterValue("is_active cannot be null")
    numbers = _phone_filter(changes.phone_numbers) if "phone_numbers" in given else None
    key_header = _header(changes.routing_key_header, "routing_key_header") if "routing_key_header" in given else None
    id_header = _header(changes.routing_id_header, "routing_id_header") if "routing_id_header" in given else None
    async with ctx.db.write() as conn:
        before = await store.subscription_of(
            ctx.db, conn, partner_id, parse_id(subscription_id, WebhookSubscriptionNotFound), lock=True
        )
        if before is None:
            raise WebhookSubscriptionNotFound()
        after = before
        if "target_url" in given and changes.target_url is not None:
            after = replace(after, target_url=changes.target_url)
        if events is not None:
            after = replace(after, subscribed_events=events)
        if "is_active" in given and changes.is_active is not None:
            after = replace(after, is_active=changes.is_active)
        if "phone_numbers" in given:
            after = replace(after, phone_numbers=numbers)
        if "routing_key_header" in given:
            after = replace(after, routing_key_header=key_header)
        if "routing_id_header" in given or "routing_key_header" in given:
            if "routing_id_header" not in given:
                id_header = after.routing_id_header
            after = replace(
                after, routing_id_header=(id_header or DEFAULT_ROUTING_ID_HEADER) if after.routing_key_header else None
            )
        if after == before:
            return before
        now = ctx.clock.now()
        after = replace(after, updated_at=now)
        if not await store.update_subscription(conn, after):
            raise StateConflict("A webhook subscription for this target_url already exists")
        for event_type, summary, change in _account_events(before, after):
            await ctx.emitter.emit(
                conn, event_type=event_type, partner_id=partner_id, trace_id=trace_id,
                data=subscription_activity(
                    summary=summary, occurred_at=now, subscription_id=after.id, target_url=after.target_url,
                    change=change,
                ),
            )  # fmt: skip
    return after


async def delete_subscription(ctx: SubscriptionContext, partner_id: str, subscription_id: str, trace_id: str) -> None:
    async with ctx.db.write() as conn:
        subscription = await store.subscription_of(
            ctx.db, conn, partner_id, parse_id(subscription_id, WebhookSubscriptionNotFound)
        )
        if subscription is None:
            raise WebhookSubscriptionNotFound()
        await store.delete_subscription(conn, subscription.id)
        await ctx.emitter.emit(
            conn, event_type="webhook_subscription.deleted", partner_id=partner_id, trace_id=trace_id,
            data=subscription_activity(
                summary=f"Webhook subscription for {subscription.target_url} deleted",
                occurred_at=ctx.clock.now(), subscription_id=subscription.id,
                target_url=subscription.target_url,
            ),
        )  # fmt: skip
