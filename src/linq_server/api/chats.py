"""/v3/chats: create, retrieve, list, update, leave, mark read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from linq_server.api.deps import App, BaseUrl, CurrentPartner, TraceId
from linq_server.api.fields import DisplayName, Handle, Url
from linq_server.api.json_response import JSONResponse
from linq_server.domain import chats
from linq_server.shapes.chats import chat_json, created_chat_json

router = APIRouter(tags=["Chats"])

Service = Literal["iMessage", "SMS", "RCS"]


class CreateChatBody(BaseModel):
    sender: Handle = Field(alias="from")
    to: list[Handle]  # its length is a domain rule (31), counted before repeats merge
    message: dict[str, Any]  # its rules are the domain's (message_parts.check_content)
    override_optout: bool | None = None


class UpdateChatBody(BaseModel):
    display_name: DisplayName | None = None
    group_chat_icon: Url | None = None


def accepted(message: str, trace_id: str) -> JSONResponse:
    """Linq's acknowledgement of queued work."""
    return JSONResponse({"message": message, "status": "accepted", "trace_id": trace_id}, status_code=202)


@router.post("/v3/chats", summary="Create a chat and send its first message", response_model=None)
async def create_chat(
    body: CreateChatBody, app: App, partner: CurrentPartner, trace_id: TraceId, base_url: BaseUrl
) -> JSONResponse:
    created = await chats.create_chat(
        app, partner.id, sender=body.sender, to=body.to, message=body.message,
        override_optout=bool(body.override_optout), trace_id=trace_id, base_url=base_url,
    )  # fmt: skip
    return JSONResponse(
        {"chat": created_chat_json(created.view, created.message)}, status_code=201 if created.is_new else 200
    )


@router.get("/v3/chats/{chat_id}", summary="Retrieve a chat", response_model=None)
async def get_chat(chat_id: str, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(chat_json(await chats.get_chat(app, partner.id, chat_id)))


@router.get("/v3/chats", summary="List chats", response_model=None)
async def list_chats(
    app: App,
    partner: CurrentPartner,
    sender: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    views, next_cursor = await chats.list_chats(app, partner.id, sender=sender, to=to, cursor=cursor, limit=limit)
    return JSONResponse({"chats": [chat_json(view) for view in views], "next_cursor": next_cursor})


@router.put("/v3/chats/{chat_id}", summary="Rename a group or set its icon", response_model=None)
async def update_chat(
    chat_id: str, body: UpdateChatBody, app: App, partner: CurrentPartner, trace_id: TraceId
) -> JSONResponse:
    await chats.update_chat(
        app, partner.id, chat_id, display_name=body.display_name, icon=body.group_chat_icon, trace_id=trace_id
    )
    return JSONResponse({"chat_id": chat_id, "status": "pending"}, status_code=202)


@router.post("/v3/chats/{chat_id}/leave", summary="Leave a group chat", response_model=None)
async def leave_chat(chat_id: str, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    await chats.leave_chat(app, partner.id, chat_id, trace_id)
    return accepted("Leave group chat queued", trace_id)


@router.post("/v3/chats/{chat_id}/read", status_code=204, summary="Mark a chat read")
async def mark_read(chat_id: str, app: App, partner: CurrentPartner) -> Response:
    await chats.mark_read(app, partner.id, chat_id)
    return Response(status_code=204)
