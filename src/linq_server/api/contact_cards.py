"""/v3/contact_card (one card per line) and /v3/chats/{chatId}/share_contact_card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner, TraceId
from linq_server.api.fields import Handle, Url
from linq_server.api.json_response import JSONResponse
from linq_server.domain import contact_cards
from linq_server.domain.contact_cards import MAX_NAME_CHARS, CardFields
from linq_server.shapes.contact_cards import card_json

router = APIRouter(tags=["Contact card"])


CardName = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class CreateCardBody(BaseModel):
    phone_number: Handle
    first_name: CardName
    last_name: CardName | None = None
    image_url: Url | None = None


class UpdateCardBody(BaseModel):
    first_name: CardName | None = None
    last_name: CardName | None = None
    image_url: Url | None = None


@router.post("/v3/contact_card", summary="Create a line's contact card", response_model=None)
async def create_card(body: CreateCardBody, app: App, partner: CurrentPartner, trace_id: TraceId) -> JSONResponse:
    fields = CardFields(body.first_name, body.last_name, body.image_url)
    card = await contact_cards.create_card(app, partner.id, body.phone_number, fields, trace_id)
    return JSONResponse(card_json(card))


@router.get("/v3/contact_card", summary="The partner's contact cards, or one line's", response_model=None)
async def get_cards(app: App, partner: CurrentPartner, phone_number: str | None = None) -> JSONResponse:
    cards = await contact_cards.list_cards(app, partner.id, phone_number)
    return JSONResponse({"contact_cards": [card_json(card) for card in cards]})


@router.patch("/v3/contact_card", summary="Update a line's contact card", response_model=None)
async def update_card(
    phone_number: str, app: App, partner: CurrentPartner, trace_id: TraceId, body: UpdateCardBody | None = None
) -> JSONResponse:
    body = body or UpdateCardBody()
    fields = CardFields(body.first_name, body.last_name, body.image_url)
    card = await contact_cards.update_card(app, partner.id, phone_number, fields, trace_id)
    return JSONResponse(card_json(card))


@router.post("/v3/chats/{chat_id}/share_contact_card", status_code=204, summary="Share the line's contact card")
async def share_card(chat_id: str, app: App, partner: CurrentPartner) -> Response:
    await contact_cards.share_card(app, partner.id, chat_id)
    return Response(status_code=204)
