"""/v3/webhook-subscriptions and /v3/webhook-events."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner, TraceId
from linq_server.api.fields import Handles, HeaderName, Names, Url
from linq_server.domain import webhook_subscriptions as domain
from linq_server.store.webhooks import Subscription
from linq_server.webhooks.events import EVENT_TYPES, EVENTS_DOC_URL

router = APIRouter(tags=["Webhook Subscriptions"])


class CreateBody(BaseModel):
    target_url: Url
    subscribed_events: Names
    phone_numbers: Handles | None = None
    routing_id_header: HeaderName | None = None
    routing_key_header: HeaderName | None = None


class UpdateBody(BaseModel):
    target_url: Url | None = None
    subscribed_events: Names | None = None
    is_active: bool | None = None
    phone_numbers: Handles | None = None
    routing_id_header: HeaderName | None = None
    routing_key_header: HeaderName | None = None


class WebhookSubscription(BaseModel):
    id: str
    target_url: str
    subscribed_events: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    phone_numbers: list[str] | None
    routing_id_header: str | None
    routing_key_header: str | None


class CreatedWebhookSubscription(WebhookSubscription):
    signing_secret: str


class SubscriptionList(BaseModel):
    subscriptions: list[WebhookSubscription]


class EventTypeList(BaseModel):
    doc_url: str
    events: list[str]


def _shape(subscription: Subscription) -> WebhookSubscription:
    """The public fields of a stored subscription (never its secret)."""
    return WebhookSubscription(**{name: getattr(subscription, name) for name in WebhookSubscription.model_fields})


@router.post("/v3/webhook-subscriptions", status_code=201, summary="Create a webhook subscription")
async def create(body: CreateBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> CreatedWebhookSubscription:
    created = await domain.create_subscription(
        app, partner.id, target_url=body.target_url, subscribed_events=body.subscribed_events,
        phone_numbers=body.phone_numbers, routing_id_header=body.routing_id_header,
        routing_key_header=body.routing_key_header, trace_id=trace_id,
    )  # fmt: skip
    shaped = _shape(created.subscription)
    return CreatedWebhookSubscription(**shaped.model_dump(), signing_secret=created.signing_secret)


@router.get("/v3/webhook-subscriptions", summary="List webhook subscriptions")
async def list_all(app: App, partner: CurrentPartner) -> SubscriptionList:
    return SubscriptionList(subscriptions=[_shape(s) for s in await domain.list_subscriptions(app, partner.id)])


@router.get("/v3/webhook-subscriptions/{subscription_id}", summary="Retrieve a webhook subscription")
async def retrieve(subscription_id: str, app: App, partner: CurrentPartner) -> WebhookSubscription:
    return _shape(await domain.get_subscription(app, partner.id, subscription_id))


@router.put("/v3/webhook-subscriptions/{subscription_id}", summary="Update a webhook subscription")
async def update(
    subscription_id: str, body: UpdateBody, app: App, partner: CurrentPartner, trace_id: TraceId
) -> WebhookSubscription:
    changes = domain.SubscriptionChanges(**body.model_dump(), given=frozenset(body.model_fields_set))
    return _shape(await domain.update_subscription(app, partner.id, subscription_id, changes, trace_id))


@router.delete("/v3/webhook-subscriptions/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete(subscription_id: str, app: App, partner: CurrentPartner, trace_id: TraceId) -> Response:
    await domain.delete_subscription(app, partner.id, subscription_id, trace_id)
    return Response(status_code=204)


@router.get("/v3/webhook-events", tags=["Webhook Events"], summary="List webhook event types")
async def event_types(partner: CurrentPartner) -> EventTypeList:
    return EventTypeList(doc_url=EVENTS_DOC_URL, events=list(EVENT_TYPES))
