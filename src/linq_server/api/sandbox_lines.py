"""/sandbox/lines/{phone_number}: what check_rcs meets on one of your lines, and whether the line is flagged
(partner key required)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Name
from linq_server.domain import capability, gate_settings

router = APIRouter(tags=["Sandbox"])


class LineBody(BaseModel):
    rcs: Name | None = Field(None, description="What check_rcs meets: enabled, not_enabled, no_account, check_fails")
    status: Literal["ACTIVE", "FLAGGED"] | None = Field(
        None, description="FLAGGED: the line is ineligible to send (403/2027; POST /v3/messages fails over)"
    )


class LineState(BaseModel):
    phone_number: str
    rcs: str
    status: str


@router.put(
    "/sandbox/lines/{phone_number}",
    summary="Set RCS on one of your lines, or flag it",
    description="Fields left out keep their value. A status change emits `phone_number.status_updated`.",
)
async def put_line(phone_number: str, body: LineBody, app: App, partner: CurrentPartner) -> LineState:
    if body.rcs is not None:
        await capability.set_line_rcs(app, partner.id, phone_number, body.rcs)
    if body.status is not None:
        await gate_settings.set_line_status(app, partner.id, phone_number, body.status)
    return await get_line(phone_number, app, partner)


@router.get("/sandbox/lines/{phone_number}", summary="RCS and status of one of your lines")
async def get_line(phone_number: str, app: App, partner: CurrentPartner) -> LineState:
    return LineState(
        phone_number=phone_number,
        rcs=await capability.line_rcs(app, partner.id, phone_number),
        status=await gate_settings.line_status(app, partner.id, phone_number),
    )
