"""Look-ups that make seeding idempotent: does this chat or subscription exist already?"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import chats, webhook_subscriptions


async def chat_exists(
    conn: AsyncConnection, partner_id: str, line_number: str, recipient_key: str, custom_name: str | None
) -> bool:
    """A chat of the partner from this line, created with exactly these recipients, under this name."""
    name = chats.c.custom_name.is_(None) if custom_name is None else chats.c.custom_name == custom_name
    query = sa.select(chats.c.id).where(
        chats.c.partner_id == partner_id, chats.c.line_number == line_number,
        chats.c.recipient_key == recipient_key, name,
    )  # fmt: skip
    return (await conn.execute(query.limit(1))).first() is not None


async def subscription_exists(conn: AsyncConnection, partner_id: str, target_url: str) -> bool:
    query = sa.select(webhook_subscriptions.c.id).where(
        webhook_subscriptions.c.partner_id == partner_id, webhook_subscriptions.c.target_url == target_url
    )
    return (await conn.execute(query)).first() is not None
