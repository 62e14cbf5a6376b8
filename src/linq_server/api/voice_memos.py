"""/v3/chats/{chatId}/voicememo: send audio as a voice-memo bubble (202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, BaseUrl, CurrentPartner, TraceId
from linq_server.api.json_response import JSONResponse
from linq_server.domain import voice_memos
from linq_server.shapes.voice_memos import voice_memo_json

router = APIRouter(tags=["Chats"])


class VoiceMemoBody(BaseModel):
    # Checked in the domain, so a wrong type answers like a wrong value (400/1005).
    voice_memo_url: Any = None
    attachment_id: Any = None
    override_optout: bool | None = None


@router.post("/v3/chats/{chat_id}/voicememo", summary="Send audio as a voice memo", response_model=None)
async def send_voice_memo(
    chat_id: str, body: VoiceMemoBody, app: App, partner: CurrentPartner, trace_id: TraceId, base_url: BaseUrl
) -> JSONResponse:
    sent = await voice_memos.send_voice_memo(
        app, partner.id, chat_id, voice_memo_url=body.voice_memo_url, attachment_id=body.attachment_id,
        override_optout=bool(body.override_optout), trace_id=trace_id, base_url=base_url,
    )  # fmt: skip
    return JSONResponse(voice_memo_json(sent), status_code=202)
