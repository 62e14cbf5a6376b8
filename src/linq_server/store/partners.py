"""Partners, their API keys (hashed) and their phone lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import api_keys, partners, phone_numbers
from linq_server.vocabulary import LineStatus


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PhoneLine:
    id: str
    partner_id: str
    phone_number: str
    line_type: str
    country_code: str | None
    capabilities: dict[str, bool]
    forwarding_number: str | None
    status: str = LineStatus.ACTIVE


def _partner(row: Any) -> Partner:
    return Partner(id=row.id, name=row.name, created_at=row.created_at)


def _line(row: Any) -> PhoneLine:
    return PhoneLine(
        id=row.id,
        partner_id=row.partner_id,
        phone_number=row.phone_number,
        line_type=row.line_type,
        country_code=row.country_code,
        capabilities=dict(row.capabilities),
        forwarding_number=row.forwarding_number,
        status=row.status,
    )


async def insert_partner(conn: AsyncConnection, partner: Partner) -> None:
    await conn.execute(partners.insert().values(id=partner.id, name=partner.name, created_at=partner.created_at))


async def partner_by_name(conn: AsyncConnection, name: str) -> Partner | None:
    row = (await conn.execute(partners.select().where(partners.c.name == name))).first()
    return _partner(row) if row else None


async def list_partners(conn: AsyncConnection) -> list[Partner]:
    rows = await conn.execute(partners.select().order_by(partners.c.created_at, partners.c.id))
    return [_partner(row) for row in rows]


async def partner_by_id(conn: AsyncConnection, partner_id: str) -> Partner | None:
    row = (await conn.execute(sa.select(partners).where(partners.c.id == partner_id))).first()
    return _partner(row) if row else None


async def insert_api_key(
    conn: AsyncConnection, *, key_id: str, partner_id: str, key_hash: str, key_prefix: str, created_at: datetime
) -> None:
    await conn.execute(
        api_keys.insert().values(
            id=key_id, partner_id=partner_id, key_hash=key_hash, key_prefix=key_prefix, created_at=created_at
        )
    )


async def partner_by_key_hash(conn: AsyncConnection, key_hash: str) -> Partner | None:
    query = (
        sa.select(partners)
        .join(api_keys, api_keys.c.partner_id == partners.c.id)
        .where(api_keys.c.key_hash == key_hash)
    )
    row = (await conn.execute(query)).first()
    return _partner(row) if row else None


async def insert_phone_line(conn: AsyncConnection, line: PhoneLine, created_at: datetime) -> None:
    await conn.execute(
        phone_numbers.insert().values(
            id=line.id,
            partner_id=line.partner_id,
            phone_number=line.phone_number,
            line_type=line.line_type,
            country_code=line.country_code,
            capabilities=line.capabilities,
            forwarding_number=line.forwarding_number,
            created_at=created_at,
        )
    )


async def line_by_number(conn: AsyncConnection, phone_number: str) -> PhoneLine | None:
    row = (await conn.execute(phone_numbers.select().where(phone_numbers.c.phone_number == phone_number))).first()
    return _line(row) if row else None


async def lines_of(conn: AsyncConnection, partner_id: str) -> list[PhoneLine]:
    query = (
        phone_numbers.select()
        .where(phone_numbers.c.partner_id == partner_id)
        .order_by(phone_numbers.c.created_at, phone_numbers.c.phone_number)
    )
    return [_line(row) for row in await conn.execute(query)]


async def set_line_status(conn: AsyncConnection, line_id: str, status: LineStatus) -> str:
    """Set a line's status; returns the one it had."""
    query = sa.select(phone_numbers.c.status).where(phone_numbers.c.id == line_id)
    previous: str = (await conn.execute(query)).scalar_one()
    await conn.execute(phone_numbers.update().where(phone_numbers.c.id == line_id).values(status=status))
    return previous


async def recipients_must_message_first(conn: AsyncConnection, partner_id: str) -> bool:
    return bool((await conn.execute(_MUST_MESSAGE_FIRST, {"partner_id": partner_id})).scalar())


_MUST_MESSAGE_FIRST = sa.select(partners.c.recipients_must_message_first).where(
    partners.c.id == sa.bindparam("partner_id")
)


async def set_recipients_must_message_first(conn: AsyncConnection, partner_id: str, value: bool) -> None:
    await conn.execute(partners.update().where(partners.c.id == partner_id).values(recipients_must_message_first=value))
