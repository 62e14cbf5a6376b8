"""Partners: who may call the API, with which key, from which lines."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.handles import parse_phone_number, region_of
from linq_server.store import partners as store
from linq_server.store.database import Database
from linq_server.store.partners import Partner, PhoneLine

API_KEY_PREFIX = "linq_sk_"
SANDBOX_PARTNER_NAME = "sandbox"


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def generate_api_key() -> str:
    """A new API key: a recognisable prefix and 256 random bits."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Keys are high-entropy random tokens, so SHA-256 (not a slow password hash) is enough."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewPartner:
    partner: Partner
    api_key: str
    lines: list[PhoneLine]


async def create_partner(db: Database, name: str, phone_numbers: list[str], api_key: str | None = None) -> NewPartner:
    """Create a partner with one API key (returned in clear this once) and its lines.

    Raises ``InvalidParameterValue`` when the name is taken or a line already belongs to someone.
    """
    numbers = [parse_phone_number(number) for number in phone_numbers]
    key = api_key or generate_api_key()
    async with db.write() as conn:
        if await store.partner_by_name(conn, name):
            raise InvalidParameterValue(f"A partner named {name!r} already exists")
        partner = Partner(id=new_id(), name=name, created_at=now())
        await store.insert_partner(conn, partner)
        await _add_key(conn, partner.id, key)
        lines = [await _add_line(conn, partner.id, number) for number in numbers]
    return NewPartner(partner, key, lines)


async def ensure_partner(db: Database, name: str, phone_numbers: list[str], api_key: str) -> NewPartner:
    """Make sure partner ``name`` exists, accepts ``api_key`` and owns ``phone_numbers`` (idempotent)."""
    numbers = [parse_phone_number(number) for number in phone_numbers]
    async with db.write() as conn:
        partner = await store.partner_by_name(conn, name)
        if partner is None:
            partner = Partner(id=new_id(), name=name, created_at=now())
            await store.insert_partner(conn, partner)
        owner = await store.partner_by_key_hash(conn, hash_api_key(api_key))
        if owner is None:
            await _add_key(conn, partner.id, api_key)
        elif owner.id != partner.id:
            raise InvalidParameterValue("That API key belongs to another partner")
        for number in numbers:
            line = await store.line_by_number(conn, number)
            if line is None:
                await _add_line(conn, partner.id, number)
            elif line.partner_id != partner.id:
                raise InvalidParameterValue(f"{number} belongs to another partner")
        lines = await store.lines_of(conn, partner.id)
    return NewPartner(partner, api_key, lines)


async def _add_key(conn: AsyncConnection, partner_id: str, key: str) -> None:
    await store.insert_api_key(
        conn,
        key_id=new_id(),
        partner_id=partner_id,
        key_hash=hash_api_key(key),
        key_prefix=key[:12],
        created_at=now(),
    )


async def _add_line(conn: AsyncConnection, partner_id: str, number: str) -> PhoneLine:
    if await store.line_by_number(conn, number):
        raise InvalidParameterValue(f"{number} belongs to another partner")
    line = PhoneLine(
        id=new_id(),
        partner_id=partner_id,
        phone_number=number,
        line_type="iMessage",
        country_code=region_of(number),
        capabilities={"sms": True, "mms": True, "voice": False},
        forwarding_number=None,
    )
    await store.insert_phone_line(conn, line, now())
    return line


async def list_partners(db: Database) -> list[tuple[Partner, list[PhoneLine]]]:
    async with db.read() as conn:
        return [(partner, await store.lines_of(conn, partner.id)) for partner in await store.list_partners(conn)]


async def lines_of(db: Database, partner_id: str) -> list[PhoneLine]:
    async with db.read() as conn:
        return await store.lines_of(conn, partner_id)


async def partner_for_key(db: Database, key: str) -> Partner | None:
    async with db.read() as conn:
        return await store.partner_by_key_hash(conn, hash_api_key(key))
