"""/sandbox/handles/{handle}/…: a simulated handle acts on its own phone (partner key required)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from linq_server.api.chats import accepted
from linq_server.api.deps import App, CurrentPartner, TraceId
from linq_server.api.fields import Name
from linq_server.api.json_response import JSONResponse
from linq_server.domain import handle_actions

router = APIRouter(tags=["Sandbox"])


class LeaveBody(BaseModel):
    chat_id: Name = Field(description="The group chat the handle leaves")


@router.post(
    "/sandbox/handles/{handle}/leave",
    status_code=202,
    summary="A handle leaves a group chat",
    description="The member leaves the group on their own phone; `participant.removed` follows, as when real "
    "people leave. 409 when the handle is not an active member, the chat is a DM or not an iMessage group.",
    response_model=None,
)
async def leave(handle: str, body: LeaveBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    await handle_actions.leave(app, partner.id, handle, body.chat_id, trace_id)
    return accepted("Member leaving queued", trace_id)


class TypingBody(BaseModel):
    chat_id: Name = Field(description="The chat the handle types in")
    typing: bool = Field(description="true: starts typing; false: stops")


@router.post(
    "/sandbox/handles/{handle}/typing",
    status_code=204,
    summary="A handle starts or stops typing",
    description="Emits `chat.typing_indicator.started` or `.stopped` with the handle as `actor_handle`. "
    "409/2017 in an SMS chat (no typing indicators there); 409/2015 when the handle is not an active member.",
)
async def typing(handle: str, body: TypingBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> Response:
    await handle_actions.typing(app, partner.id, handle, body.chat_id, body.typing, trace_id)
    return Response(status_code=204)
