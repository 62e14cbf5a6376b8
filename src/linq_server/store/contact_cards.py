"""Contact cards (Name & Photo Sharing): at most one per line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import contact_cards, phone_numbers


@dataclass(frozen=True, slots=True)
class ContactCard:
    id: str
    partner_id: str
    line_id: str
    phone_number: str
    first_name: str
    last_name: str | None
    image_url: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


_COLUMNS = [
    phone_numbers.c.phone_number if name == "phone_number" else contact_cards.c[name] for name in ContactCard.__slots__
]


def _query() -> sa.Select[Any]:
    return sa.select(*_COLUMNS).join(phone_numbers, phone_numbers.c.id == contact_cards.c.line_id)


async def insert(conn: AsyncConnection, card: ContactCard) -> bool:
    """Insert; False when the line got a card meanwhile."""
    values = {name: getattr(card, name) for name in ContactCard.__slots__ if name != "phone_number"}
    try:
        async with conn.begin_nested():
            await conn.execute(contact_cards.insert().values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


async def update(conn: AsyncConnection, card: ContactCard) -> None:
    await conn.execute(
        contact_cards.update()
        .where(contact_cards.c.id == card.id)
        .values(first_name=card.first_name, last_name=card.last_name, image_url=card.image_url,
                is_active=card.is_active, updated_at=card.updated_at)
    )  # fmt: skip


async def of_line(conn: AsyncConnection, line_id: str) -> ContactCard | None:
    row = (await conn.execute(_query().where(contact_cards.c.line_id == line_id))).first()
    return ContactCard(*row) if row else None


async def of_partner(conn: AsyncConnection, partner_id: str) -> list[ContactCard]:
    query = _query().where(contact_cards.c.partner_id == partner_id).order_by(phone_numbers.c.phone_number)
    return [ContactCard(*row) for row in await conn.execute(query)]
