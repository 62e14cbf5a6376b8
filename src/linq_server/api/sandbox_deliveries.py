"""/sandbox/deliveries: every webhook delivery of the calling partner, with every attempt; resend one."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.json_response import JSONResponse
from linq_server.clock import isoformat
from linq_server.domain import sandbox_deliveries
from linq_server.domain.sandbox_deliveries import DeliveryLog

router = APIRouter(tags=["Sandbox"])


def delivery_json(log: DeliveryLog) -> dict[str, Any]:
    delivery = log.delivery
    return {
        "id": delivery.id,
        "webhook_id": delivery.event_id,
        "event_type": delivery.event_type,
        "subscription_id": delivery.subscription_id,
        "target_url": delivery.target_url,
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "created_at": isoformat(delivery.created_at),
        "finished_at": isoformat(delivery.finished_at) if delivery.finished_at else None,
        "payload": json.loads(delivery.body),
        "attempts": [
            {
                "attempt": attempt.attempt,
                "started_at": isoformat(attempt.started_at),
                "duration_ms": round(attempt.duration_ms, 3),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "response_excerpt": attempt.response_excerpt,
                "request_headers": attempt.request_headers,
            }
            for attempt in log.attempts
        ],
    }


@router.get(
    "/sandbox/deliveries",
    summary="List webhook deliveries",
    description="The calling partner's webhook deliveries, newest first, each with its payload and every attempt "
    "(time, HTTP status or error, duration, response excerpt, the request headers including signatures). "
    "Filter by `event_type`, `status` (pending, delivered, failed, cancelled) and `subscription_id`; "
    "page with `cursor` = the previous page's `next_cursor`.",
    response_model=None,
)
async def list_deliveries(
    app: App,
    partner: CurrentPartner,
    event_type: str | None = None,
    status: str | None = None,
    subscription_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    logs, next_cursor = await sandbox_deliveries.list_deliveries(
        app, partner.id, event_type=event_type, status=status, subscription_id=subscription_id, cursor=cursor,
        limit=limit,
    )  # fmt: skip
    return JSONResponse({"deliveries": [delivery_json(log) for log in logs], "next_cursor": next_cursor})


@router.get("/sandbox/deliveries/{delivery_id}", summary="Retrieve a webhook delivery", response_model=None)
async def get_delivery(delivery_id: str, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(delivery_json(await sandbox_deliveries.get_delivery(app, partner.id, delivery_id)))


@router.post(
    "/sandbox/deliveries/{delivery_id}/resend",
    summary="Send a delivery again",
    description="Queues a new delivery of the same event to the same subscription: the same body and `webhook-id`, "
    "with its own attempts and retry window. 409 when the subscription was deleted or is disabled.",
    response_model=None,
)
async def resend(delivery_id: str, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(delivery_json(await sandbox_deliveries.resend(app, partner.id, delivery_id)), status_code=202)
