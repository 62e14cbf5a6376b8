"""/v3/capability: check_imessage and check_rcs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Text
from linq_server.domain import capability
from linq_server.domain.capability import CapabilityAnswer

router = APIRouter(tags=["Capability"])


class CheckBody(BaseModel):
    address: Text
    sender: Text | None = Field(default=None, alias="from")


def answer_json(answer: CapabilityAnswer) -> dict[str, Any]:
    """HandleCheckResponse: ``reason`` only on a negative answer, ``selected_service`` only when known."""
    body: dict[str, Any] = {"address": answer.address, "available": answer.available}
    if answer.reason is not None:
        body["reason"] = answer.reason
    if answer.selected_service is not None:
        body["selected_service"] = answer.selected_service
    return body


@router.post("/v3/capability/check_imessage", summary="Can this address get iMessage?", response_model=None)
async def check_imessage(body: CheckBody, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(answer_json(await capability.check(app, partner.id, "iMessage", body.address, body.sender)))


@router.post("/v3/capability/check_rcs", summary="Can this phone number get RCS?", response_model=None)
async def check_rcs(body: CheckBody, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(answer_json(await capability.check(app, partner.id, "RCS", body.address, body.sender)))
