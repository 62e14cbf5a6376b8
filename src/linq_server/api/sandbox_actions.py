"""/sandbox/handles/{handle}/…: a simulated handle acts on its own phone (partner key required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from linq_server.api.chats import accepted
from linq_server.api.deps import App, CurrentPartner, TraceId
from linq_server.api.fields import Handle, Name, Url
from linq_server.api.json_response import JSONResponse
from linq_server.domain import handle_actions, inbound, inbound_reactions

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


class MessageBody(BaseModel):
    to: Handle | None = Field(default=None, description="Your line the handle texts (their DM with it)")
    chat_id: Name | None = Field(default=None, description="Or the chat the handle writes into")
    parts: Any = Field(description="Message parts, as in POST /v3/chats/{chatId}/messages")
    reply_to: Any = Field(default=None, description="`{message_id, part_index?}`: a threaded reply")


@router.post(
    "/sandbox/handles/{handle}/messages",
    status_code=201,
    summary="A handle sends a message",
    description="The message is received at once: `message.received` (after `chat.created` when it starts a DM). "
    "Opt-out keywords (STOP…) in a DM take effect. 409/2015 when the handle is not an active member of `chat_id`.",
    response_model=None,
)
async def send(handle: str, body: MessageBody, app: App, partner: CurrentPartner) -> JSONResponse:
    shown = await inbound.send_as(
        app, partner.id, handle, to=body.to, chat_id=body.chat_id, parts=body.parts, reply_to=body.reply_to
    )
    return JSONResponse(shown, status_code=201)


class ReactionBody(BaseModel):
    message_id: Name = Field(description="The message reacted to")
    operation: Name = Field(description="add or remove")
    type: Name = Field(description="love, like, dislike, laugh, emphasize, question, custom or sticker")
    part_index: Any = 0
    custom_emoji: Name | None = None
    emoji: Name | None = Field(default=None, description="An emoji sticker (type sticker)")
    url: Url | None = Field(default=None, description="An image sticker (type sticker)")
    placement: Any = None


@router.post(
    "/sandbox/handles/{handle}/reactions",
    status_code=202,
    summary="A handle reacts to a message",
    description="`reaction.added` / `reaction.removed` with `is_from_me: false` and the handle as `from_handle`. "
    "409/2017 over SMS; 409/2015 when the handle is not an active member; 404/2002 for an unknown message.",
    response_model=None,
)
async def react(handle: str, body: ReactionBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    await inbound_reactions.react_as(
        app, partner.id, handle, body.message_id, body.model_dump(exclude={"message_id"}, exclude_none=True), trace_id
    )
    return accepted("Reaction processed", trace_id)


class ReadBody(BaseModel):
    chat_id: Name = Field(description="The chat the handle reads")


@router.post(
    "/sandbox/handles/{handle}/read",
    status_code=202,
    summary="A handle reads a chat",
    description="The handle's device reads what was delivered to it: `message.read` for each of your messages not "
    "yet read (none over SMS, nor in groups, which have no read receipts). 409/2015 when not a member.",
    response_model=None,
)
async def read(handle: str, body: ReadBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    await inbound.read_by(app, partner.id, body.chat_id, handle)
    return accepted("Messages read", trace_id)
