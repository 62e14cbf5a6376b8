"""/sandbox/faults: make the calling partner's own API calls fail or slow down, and its webhooks misbehave."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import DisplayName, Name, Url
from linq_server.domain import faults
from linq_server.domain.faults import FaultRule, WebhookFaults

router = APIRouter(tags=["Sandbox"])


class StrictBody(BaseModel):
    # A wrong type is refused (400/1005), never coerced: `true` is not a delay of 1 ms nor a chance of 1.
    model_config = ConfigDict(strict=True)


class RuleBody(StrictBody):
    method: Name = Field("*", description="GET, POST, PUT, PATCH, DELETE or * (any)")
    path: Url = Field(description="A route template such as /v3/chats/{chatId}/messages ({name} = one segment)")
    status: int | None = Field(None, description="The HTTP error status to answer with (400-599)")
    code: int | None = Field(None, description="The Linq error code (default: the usual one for the status)")
    message: DisplayName | None = None
    probability: float = Field(1.0, description="Chance that a matching call is hit (0-1)")
    times: int | None = Field(None, description="Hit only the next N matching calls (default: all of them)")
    latency_ms: int | None = Field(None, description="Wait this long before answering (or before the real call)")
    retry_after: int | None = Field(None, description="Seconds in Retry-After (429 default: 1)")


class WebhooksBody(StrictBody):
    duplicate: float = Field(0.0, description="Chance that a delivery is sent twice, with the same webhook-id")
    delay_ms: int = Field(0, description="Hold every delivery back this long (on the server's clock)")
    shuffle: bool = Field(False, description="Hold each delivery back a random extra 0-1 s, so they reorder")


class FaultsBody(StrictBody):
    rules: list[RuleBody] = []
    webhooks: WebhooksBody = WebhooksBody()


def faults_json(rules: list[tuple[FaultRule, int | None]], webhooks: WebhookFaults) -> dict[str, Any]:
    return {
        "rules": [{**rule.as_json(), "remaining": remaining} for rule, remaining in rules],
        "webhooks": webhooks.as_json(),
    }


@router.put(
    "/sandbox/faults",
    summary="Set the calling partner's faults",
    description="Replaces all faults. Each rule makes the partner's matching `/api/partner` calls fail with Linq's "
    "error envelope and/or answer late; the first matching rule that fires wins. `webhooks` makes deliveries "
    "duplicate (same `webhook-id`), late, or out of order. Faults are kept in the database, so every server "
    "process sharing it applies them (the others within a second).",
    response_model=None,
)
async def put_faults(body: FaultsBody, app: App, partner: CurrentPartner) -> dict[str, Any]:
    rules = [faults.check_rule(**rule.model_dump()) for rule in body.rules]
    webhooks = faults.check_webhook_faults(**body.webhooks.model_dump())
    return faults_json(*await app.faults.put(partner.id, rules, webhooks))


@router.get("/sandbox/faults", summary="The calling partner's faults", response_model=None)
async def get_faults(app: App, partner: CurrentPartner) -> dict[str, Any]:
    return faults_json(*await app.faults.get(partner.id))


@router.delete("/sandbox/faults", status_code=204, summary="Remove the calling partner's faults")
async def delete_faults(app: App, partner: CurrentPartner) -> Response:
    await app.faults.clear(partner.id)
    return Response(status_code=204)
