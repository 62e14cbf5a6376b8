"""/v3/messages/{messageId}/reactions: add or remove a reaction, move a sticker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner, TraceId
from linq_server.domain import reactions

router = APIRouter(tags=["Messages"])


class PlacementBody(BaseModel):
    placement: Any = None


@router.post("/v3/messages/{message_id}/reactions", summary="Add or remove a reaction", response_model=None)
async def react(
    message_id: str, body: dict[str, Any], app: App, partner: CurrentPartner, trace_id: TraceId
) -> JSONResponse:
    await reactions.react(app, partner.id, message_id, body, trace_id)
    return JSONResponse({"message": "Reaction processed", "status": "accepted", "trace_id": trace_id}, status_code=202)


@router.patch(
    "/v3/messages/{message_id}/reactions/{reaction_id}", summary="Move, resize or turn a sticker", response_model=None
)
async def move_sticker(
    message_id: str, reaction_id: str, body: PlacementBody, app: App, partner: CurrentPartner, trace_id: TraceId
) -> JSONResponse:
    await reactions.move_sticker(app, partner.id, message_id, reaction_id, body.placement)
    return JSONResponse({"status": "accepted", "success": True, "trace_id": trace_id})
