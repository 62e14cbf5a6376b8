"""The answer to ``POST /v3/chats/{chatId}/voicememo`` (linq-python ``ChatSendVoicememoResponse``)."""

from __future__ import annotations

from typing import Any

from linq_server.clock import isoformat
from linq_server.domain.voice_memos import SentVoiceMemo
from linq_server.shapes.chats import handle_json


def voice_memo_json(sent: SentVoiceMemo) -> dict[str, Any]:
    chat, message, audio = sent.view.chat, sent.message, sent.audio
    return {
        "voice_memo": {
            "id": message.id,
            "chat": {
                "id": chat.id, "handles": [handle_json(chat, p) for p in sent.view.participants],
                "is_active": chat.left_at is None, "is_group": chat.is_group, "service": chat.service,
            },
            "created_at": isoformat(message.created_at),
            "from": chat.line_number,
            "status": message.delivery_status,
            "to": [p.handle for p in sent.view.active() if not p.is_me],
            "voice_memo": {
                "id": audio["id"], "filename": audio["filename"], "mime_type": audio["mime_type"],
                "size_bytes": audio["size_bytes"], "url": audio["url"], "duration_ms": None,
            },
            "service": message.service,
        }
    }  # fmt: skip
