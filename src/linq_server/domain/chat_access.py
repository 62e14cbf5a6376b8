"""The partner's chat for an action on it: 404/2001 when not theirs, 409/2013 once our line left it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.changes import check_open
from linq_server.domain.errors import ChatNotFound
from linq_server.domain.ids import parse_id
from linq_server.domain.send_gates import check_line_eligible
from linq_server.store import changes as change_store
from linq_server.store import chats as chat_store
from linq_server.store.chats import ChatRow
from linq_server.store.database import Database


async def open_chat(db: Database, conn: AsyncConnection, partner_id: str, chat_id: str) -> ChatRow:
    """The partner's chat, still open to interaction (typing, contact card sharing) on an eligible line,
    without locking it: these actions change nothing a concurrent group change depends on."""
    chat = await chat_store.chat_of(db, conn, partner_id, parse_id(chat_id, ChatNotFound))
    if chat is None:
        raise ChatNotFound()
    check_open(chat, (await change_store.queued_changes(conn, [chat.id]))[chat.id])
    check_line_eligible(chat.line_status)
    return chat
