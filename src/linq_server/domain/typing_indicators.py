"""Our line's typing indicator in a chat (api-core §11).

Shown only on iMessage chats (RCS and SMS chats accept the call and show nothing), for about 90 s
after each start on the injected clock, until stopped, or until our line sends into the chat (the
send path calls ``store.typing_indicators.clear`` in its transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from linq_server.domain.chat_access import open_chat
from linq_server.domain.context import DomainContext
from linq_server.store import typing_indicators as store

SHOWN_FOR = timedelta(seconds=90)
SHOWN_ON = "iMessage"


@dataclass(frozen=True, slots=True)
class TypingState:
    chat_id: str
    is_typing: bool
    expires_at: datetime | None


def shows_typing(service: str) -> bool:
    return service == SHOWN_ON


async def start_typing(ctx: DomainContext, partner_id: str, chat_id: str) -> None:
    """Show the indicator for another ``SHOWN_FOR`` (each call refreshes it); a no-op off iMessage."""
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        chat = await open_chat(ctx.db, conn, partner_id, chat_id)
        if shows_typing(chat.service):
            await store.show(ctx.db, conn, chat.id, now, now + SHOWN_FOR)


async def stop_typing(ctx: DomainContext, partner_id: str, chat_id: str) -> None:
    async with ctx.db.write() as conn:
        chat = await open_chat(ctx.db, conn, partner_id, chat_id)
        await store.clear(conn, [chat.id])


async def typing_state(ctx: DomainContext, partner_id: str, chat_id: str) -> TypingState:
    """What the other side sees now: whether our line is typing, and until when."""
    async with ctx.db.read() as conn:
        chat = await open_chat(ctx.db, conn, partner_id, chat_id)
        until = await store.showing_until(conn, chat.id, ctx.clock.now())
    return TypingState(chat.id, until is not None, until)
