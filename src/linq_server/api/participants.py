"""/v3/chats/{chatId}/participants: queue adding or removing a group member (202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.chats import accepted
from linq_server.api.deps import CurrentPartner, Desk, TraceId
from linq_server.api.json_response import JSONResponse
from linq_server.vocabulary import ChangeKind

router = APIRouter(tags=["Participants"])


class ParticipantBody(BaseModel):
    # Any JSON value: the domain answers 1001 for null and 1002 for anything that is not a handle.
    handle: Any


@router.post("/v3/chats/{chat_id}/participants", status_code=202, summary="Add a participant", response_model=None)
async def add(
    chat_id: str, body: ParticipantBody, desk: Desk, partner: CurrentPartner, trace_id: TraceId
) -> JSONResponse:
    await desk.submit(ChangeKind.ADD_PARTICIPANT, partner.id, chat_id, body.handle, trace_id)
    return accepted("Participant addition queued", trace_id)


@router.delete("/v3/chats/{chat_id}/participants", status_code=202, summary="Remove a participant", response_model=None)
async def remove(
    chat_id: str, body: ParticipantBody, desk: Desk, partner: CurrentPartner, trace_id: TraceId
) -> JSONResponse:
    await desk.submit(ChangeKind.REMOVE_PARTICIPANT, partner.id, chat_id, body.handle, trace_id)
    return accepted("Participant removal queued", trace_id)
