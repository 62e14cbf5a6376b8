"""/v3/chats/{chatId}/messages and /v3/messages/{messageId}: send, list, retrieve, thread, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from linq_server.api.deps import App, BaseUrl, CurrentPartner, TraceId
from linq_server.api.fields import Handle, Handles
from linq_server.domain import auto_from, message_sending, messages
from linq_server.shapes.chats import handle_json
from linq_server.shapes.messages import sent_message_json

router = APIRouter(tags=["Messages"])

Limit = Annotated[int, Query(ge=1, le=100)]


class SendBody(BaseModel):
    message: dict[str, Any]
    override_optout: bool | None = None


class CreateBody(BaseModel):
    to: list[Handle]  # its length is a domain rule (31), counted before repeats merge
    message: dict[str, Any]
    continuation_message: Any = None
    exclude_from: Handles | None = None
    override_optout: bool | None = None


class EditBody(BaseModel):
    text: Any = None
    part_index: Any = 0  # left out: part 0; an explicit null is refused, as on the reactions route


def page(result: messages.Page) -> JSONResponse:
    return JSONResponse({"messages": result.messages, "next_cursor": result.next_cursor})


@router.post("/v3/chats/{chat_id}/messages", summary="Send a message into a chat", response_model=None)
async def send(
    chat_id: str, body: SendBody, app: App, partner: CurrentPartner, trace_id: TraceId, base_url: BaseUrl
) -> JSONResponse:
    sent = await message_sending.send_to_chat(
        app, partner.id, chat_id, body.message, override_optout=bool(body.override_optout), trace_id=trace_id,
        base_url=base_url,
    )  # fmt: skip
    return JSONResponse(
        {"chat_id": sent.message.chat_id, "message": sent_message_json(sent.message, sent.sender)}, status_code=202
    )


@router.post("/v3/messages", summary="Send a message without choosing a line", response_model=None)
async def create(
    body: CreateBody,
    app: App,
    partner: CurrentPartner,
    trace_id: TraceId,
    base_url: BaseUrl,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    sent = await auto_from.send_without_line(
        app, partner.id, to=body.to, message=body.message, exclude_from=body.exclude_from,
        continuation_message=body.continuation_message, override_optout=bool(body.override_optout),
        idempotency_key=idempotency_key, trace_id=trace_id, base_url=base_url,
    )  # fmt: skip
    sender = handle_json(sent.view.chat, sent.view.me)
    return JSONResponse(sent.json(sent_message_json(sent.message, sender)), status_code=202)


@router.get("/v3/chats/{chat_id}/messages", summary="List a chat's messages, newest first", response_model=None)
async def list_messages(
    chat_id: str, app: App, partner: CurrentPartner, cursor: str | None = None, limit: Limit = 50
) -> JSONResponse:
    return page(await messages.list_messages(app, partner.id, chat_id, cursor=cursor, limit=limit))


@router.get("/v3/messages/{message_id}", summary="Retrieve a message", response_model=None)
async def get_message(message_id: str, app: App, partner: CurrentPartner) -> JSONResponse:
    return JSONResponse(await messages.get_message(app, partner.id, message_id))


@router.get("/v3/messages/{message_id}/thread", summary="A message's thread", response_model=None)
async def thread(
    message_id: str,
    app: App,
    partner: CurrentPartner,
    cursor: str | None = None,
    limit: Limit = 50,
    order: Literal["asc", "desc"] = "asc",
) -> JSONResponse:
    return page(await messages.thread(app, partner.id, message_id, order=order, cursor=cursor, limit=limit))


@router.patch("/v3/messages/{message_id}", summary="Edit a text part of a sent message", response_model=None)
async def edit(message_id: str, body: EditBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    return JSONResponse(
        await messages.edit_message(
            app, partner.id, message_id, text=body.text, part_index=body.part_index, trace_id=trace_id
        )
    )


@router.delete("/v3/messages/{message_id}", status_code=204, summary="Delete a message from Linq's records")
async def delete(message_id: str, app: App, partner: CurrentPartner) -> Response:
    await messages.delete_message(app, partner.id, message_id)
    return Response(status_code=204)
