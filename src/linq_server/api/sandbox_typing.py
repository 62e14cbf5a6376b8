"""/sandbox/chats/{chatId}/typing: what the other side sees of your line's typing indicator now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner
from linq_server.clock import isoformat
from linq_server.domain import typing_indicators

router = APIRouter(tags=["Sandbox"])


class TypingShown(BaseModel):
    chat_id: str
    is_typing: bool
    expires_at: str | None


@router.get("/sandbox/chats/{chat_id}/typing", summary="Is your line shown typing in this chat?")
async def get_typing(chat_id: str, app: App, partner: CurrentPartner) -> TypingShown:
    state = await typing_indicators.typing_state(app, partner.id, chat_id)
    return TypingShown(
        chat_id=state.chat_id,
        is_typing=state.is_typing,
        expires_at=isoformat(state.expires_at) if state.expires_at else None,
    )
