"""/sandbox/partners (admin key) and /sandbox/reset (partner key): one isolated sandbox per test."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Handles, Name
from linq_server.domain import gate_settings, sandbox_partners

router = APIRouter(tags=["Sandbox"])


class NewPartnerBody(BaseModel):
    name: Name | None = Field(None, description="A unique name; a random one by default")
    phone_numbers: Handles | None = Field(None, description="E.164 lines to own; random ones by default")
    lines: int = Field(2, description="How many random lines to create when phone_numbers is absent (1-10)")


class NewPartnerState(BaseModel):
    partner_id: str
    api_key: str
    phone_numbers: list[str]


@router.post(
    "/sandbox/partners",
    status_code=201,
    summary="Create a sandbox partner (admin key)",
    description="Authorized with `Authorization: Bearer <LINQ_SERVER_ADMIN_KEY>`; refused (403) while that is unset. "
    "Returns the new partner's API key, shown this once.",
)
async def create_partner(request: Request, app: App, body: NewPartnerBody | None = None) -> NewPartnerState:
    sandbox_partners.check_admin(app.settings.admin_key, request.headers.get("authorization", ""))
    body = body or NewPartnerBody()
    created = await sandbox_partners.create_sandbox_partner(
        app, name=body.name, phone_numbers=body.phone_numbers, line_count=body.lines
    )
    return NewPartnerState(
        partner_id=created.partner.id,
        api_key=created.api_key,
        phone_numbers=[line.phone_number for line in created.lines],
    )


@router.post(
    "/sandbox/reset",
    status_code=204,
    summary="Wipe the calling partner's sandbox",
    description="Deletes the partner's chats, participants, messages, webhook subscriptions, events, deliveries, "
    "handle overrides and faults. The partner, its API keys and its lines stay.",
)
async def reset(app: App, partner: CurrentPartner) -> Response:
    await sandbox_partners.reset_partner(app, partner.id)
    app.faults.forget(partner.id)
    return Response(status_code=204)


class AccountRules(BaseModel):
    recipients_must_message_first: bool = Field(
        description="As a Linq sandbox account: sends to a handle that never messaged you → 403/2008"
    )


@router.put("/sandbox/account", summary="Set the calling partner's sandbox-account rules")
async def put_account(body: AccountRules, app: App, partner: CurrentPartner) -> AccountRules:
    value = await gate_settings.set_recipients_must_message_first(app, partner.id, body.recipients_must_message_first)
    return AccountRules(recipients_must_message_first=value)


@router.get("/sandbox/account", summary="The calling partner's sandbox-account rules")
async def get_account(app: App, partner: CurrentPartner) -> AccountRules:
    value = await gate_settings.recipients_must_message_first(app, partner.id)
    return AccountRules(recipients_must_message_first=value)
