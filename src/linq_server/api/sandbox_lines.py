"""/sandbox/lines/{phone_number}: what check_rcs meets on one of your lines (partner key required)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Name
from linq_server.domain import capability

router = APIRouter(tags=["Sandbox"])


class LineBody(BaseModel):
    rcs: Name


class LineState(BaseModel):
    phone_number: str
    rcs: str


@router.put("/sandbox/lines/{phone_number}", summary="Set RCS on one of your lines: enabled, not_enabled, ...")
async def put_line(phone_number: str, body: LineBody, app: App, partner: CurrentPartner) -> LineState:
    rcs = await capability.set_line_rcs(app, partner.id, phone_number, body.rcs)
    return LineState(phone_number=phone_number, rcs=rcs)


@router.get("/sandbox/lines/{phone_number}", summary="RCS on one of your lines")
async def get_line(phone_number: str, app: App, partner: CurrentPartner) -> LineState:
    return LineState(phone_number=phone_number, rcs=await capability.line_rcs(app, partner.id, phone_number))
