"""Reactions on message parts: tapbacks, custom emoji and stickers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import message_reactions


@dataclass(frozen=True, slots=True)
class ReactionRow:
    id: str
    message_id: str
    part_index: int
    handle: str
    is_me: bool
    type: str
    custom_emoji: str | None
    sticker: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def _reaction(row: Any) -> ReactionRow:
    return ReactionRow(**row._mapping)


async def insert_reaction(conn: AsyncConnection, reaction: ReactionRow) -> None:
    await conn.execute(
        message_reactions.insert().values(**{name: getattr(reaction, name) for name in ReactionRow.__slots__})
    )


async def reactions_of(conn: AsyncConnection, message_ids: list[str]) -> dict[str, list[ReactionRow]]:
    """Each message's reactions, oldest first."""
    found: dict[str, list[ReactionRow]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return found
    query = (
        sa.select(message_reactions)
        .where(message_reactions.c.message_id.in_(message_ids))
        .order_by(message_reactions.c.created_at, message_reactions.c.id)
    )
    for row in (await conn.execute(query)).all():
        found[row.message_id].append(_reaction(row))
    return found


async def reaction_by_id(conn: AsyncConnection, message_id: str, reaction_id: str) -> ReactionRow | None:
    query = sa.select(message_reactions).where(
        message_reactions.c.message_id == message_id, message_reactions.c.id == reaction_id
    )
    row = (await conn.execute(query)).first()
    return _reaction(row) if row else None


async def delete_reactions(conn: AsyncConnection, reaction_ids: list[str]) -> None:
    if reaction_ids:
        await conn.execute(message_reactions.delete().where(message_reactions.c.id.in_(reaction_ids)))


async def update_sticker(conn: AsyncConnection, reaction_id: str, sticker: dict[str, Any], at: datetime) -> None:
    await conn.execute(
        message_reactions.update().where(message_reactions.c.id == reaction_id).values(sticker=sticker, updated_at=at)
    )
