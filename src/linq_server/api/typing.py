"""/v3/chats/{chatId}/typing: start (POST) or stop (DELETE) our line's typing indicator (204)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from linq_server.api.deps import App, CurrentPartner
from linq_server.domain import typing_indicators

router = APIRouter(tags=["Typing"])


@router.post("/v3/chats/{chat_id}/typing", status_code=204, summary="Start the typing indicator")
async def start(chat_id: str, app: App, partner: CurrentPartner) -> Response:
    await typing_indicators.start_typing(app, partner.id, chat_id)
    return Response(status_code=204)


@router.delete("/v3/chats/{chat_id}/typing", status_code=204, summary="Stop the typing indicator")
async def stop(chat_id: str, app: App, partner: CurrentPartner) -> Response:
    await typing_indicators.stop_typing(app, partner.id, chat_id)
    return Response(status_code=204)
