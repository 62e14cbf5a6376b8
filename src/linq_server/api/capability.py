"""/v3/capability: check_imessage and check_rcs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Handle
from linq_server.api.json_response import JSONResponse
from linq_server.domain import capability
from linq_server.shapes.capability import answer_json

router = APIRouter(tags=["Capability"])


class CheckBody(BaseModel):
    address: Handle
    sender: Handle | None = Field(default=None, alias="from")


@router.post("/v3/capability/check_imessage", summary="Can this address get iMessage?", response_model=None)
async def check_imessage(body: CheckBody, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(answer_json(await capability.check(app, partner.id, "iMessage", body.address, body.sender)))


@router.post("/v3/capability/check_rcs", summary="Can this phone number get RCS?", response_model=None)
async def check_rcs(body: CheckBody, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(answer_json(await capability.check(app, partner.id, "RCS", body.address, body.sender)))
