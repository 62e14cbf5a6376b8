"""GET /api/v1/webhook-logs: the logs service that ``linq webhooks logs`` reads (``LINQ_LOGS_URL=…/api``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner
from linq_server.domain import webhook_logs as domain
from linq_server.store.webhook_logs import LoggedAttempt
from linq_server.webhooks.emitter import MAX_DELIVERY_ATTEMPTS
from linq_server.webhooks.events import public_url

router = APIRouter(tags=["Webhook Logs"])


class WebhookLog(BaseModel):
    event_id: str
    webhook_event_type: str
    target_url: str | None
    http_status_code: int | None
    duration_ms: int
    timestamp: datetime
    status: Literal["success", "failed", "retrying"]
    attempt: int
    max_attempts: int
    error_type: str | None
    error_message: str | None
    trace_id: str
    subscription_id: str


class Pagination(BaseModel):
    has_more: bool
    next_cursor: str | None
    per_page: int


class WebhookLogPage(BaseModel):
    webhook_logs: list[WebhookLog]
    pagination: Pagination


def _shape(attempt: LoggedAttempt) -> WebhookLog:
    return WebhookLog(
        event_id=attempt.event_id, webhook_event_type=attempt.event_type,
        target_url=public_url(attempt.target_url) if attempt.target_url else None,
        http_status_code=attempt.status_code, duration_ms=round(attempt.duration_ms), timestamp=attempt.started_at,
        status=attempt.status,
        attempt=attempt.attempt, max_attempts=MAX_DELIVERY_ATTEMPTS, error_type=domain.error_type_of(attempt),
        error_message=domain.error_message_of(attempt), trace_id=attempt.trace_id,
        subscription_id=attempt.subscription_id,
    )  # fmt: skip


@router.get("/api/v1/webhook-logs", summary="Delivery attempts of the partner's webhooks, newest first")
async def webhook_logs(
    app: App,
    partner: CurrentPartner,
    subscription_id: str | None = None,
    event_type: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    per_page: int | None = None,
) -> WebhookLogPage:
    """The ``partner_id`` and ``org_id`` that the CLI also sends are ignored: the bearer key says whose logs."""
    query = domain.check_log_query(
        subscription_id=subscription_id, event_type=event_type, status=status, cursor=cursor, per_page=per_page
    )
    page, next_cursor = await domain.webhook_logs(app.db, partner.id, query)
    return WebhookLogPage(
        webhook_logs=[_shape(attempt) for attempt in page],
        pagination=Pagination(has_more=next_cursor is not None, next_cursor=next_cursor, per_page=query.per_page),
    )
