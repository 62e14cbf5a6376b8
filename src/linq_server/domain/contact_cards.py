"""Contact cards (Name & Photo Sharing, extended §5) and sharing one into a chat (api-core §8.7).

One card per line. In the sandbox a card is active (applied to the device) as soon as it is saved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain import throttles
from linq_server.domain.chat_access import open_chat
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, LinqError, PhoneNumberPermissionDenied
from linq_server.domain.handles import parse_phone_number
from linq_server.domain.message_parts import is_web_url
from linq_server.shapes.contact_cards import card_created_json, card_updated_json
from linq_server.store import contact_cards as store
from linq_server.store import partners as partner_store
from linq_server.store import rate_windows
from linq_server.store.contact_cards import ContactCard
from linq_server.store.partners import PhoneLine

MAX_NAME_CHARS = 255
MAX_IMAGE_URL_CHARS = 2048


class ContactCardNotFound(LinqError):
    status, code, default_message = 404, 2012, "Contact card not found"


class ContactCardExists(LinqError):
    status, code, default_message = 409, 2014, "A contact card already exists for this phone number"
    should_retry = False


@dataclass(frozen=True, slots=True)
class CardFields:
    """Fields of a create or an update; None leaves a field as it is (an update merges)."""

    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None


def check_fields(fields: CardFields) -> CardFields:
    """Names of 1 to 255 characters (not blank), an absolute http(s) image URL: 400/1005 otherwise."""
    for name, value in (("first_name", fields.first_name), ("last_name", fields.last_name)):
        if value is not None and (not value.strip() or len(value) > MAX_NAME_CHARS):
            raise InvalidParameterValue(f"Invalid parameter value: {name} must be 1 to {MAX_NAME_CHARS} characters")
    url = fields.image_url
    if url is not None and (len(url) > MAX_IMAGE_URL_CHARS or not is_web_url(url)):
        raise InvalidParameterValue("Invalid parameter value: image_url must be an absolute http(s) URL")
    return fields


async def _own_line(conn: AsyncConnection, partner_id: str, phone_number: str) -> PhoneLine:
    line = await partner_store.line_by_number(conn, parse_phone_number(phone_number))
    if line is None or line.partner_id != partner_id:
        raise PhoneNumberPermissionDenied()
    return line


async def _take_write(ctx: DomainContext, conn: AsyncConnection, partner_id: str, line: PhoneLine) -> None:
    # Taken in the write's transaction: a refused write (409, 404) rolls it back and costs nothing.
    limit = throttles.CONTACT_CARD_WRITE
    now = ctx.clock.now()
    frees_at = await rate_windows.take(
        ctx.db, conn, partner_id, f"contact_card_write:{line.id}", limit=limit.calls, window=limit.window, now=now
    )
    throttles.check_window(frees_at, now)


async def create_card(
    ctx: DomainContext, partner_id: str, phone_number: str, fields: CardFields, trace_id: str
) -> ContactCard:
    """A line's first card; 409/2014 once it has one (update it instead). ``contact_card.created``."""
    check_fields(fields)
    if fields.first_name is None:
        raise InvalidParameterValue("Invalid parameter value: first_name is required")
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        line = await _own_line(conn, partner_id, phone_number)
        await _take_write(ctx, conn, partner_id, line)
        card = ContactCard(
            id=str(uuid.uuid4()), partner_id=partner_id, line_id=line.id, phone_number=line.phone_number,
            first_name=fields.first_name, last_name=fields.last_name, image_url=fields.image_url, is_active=True,
            created_at=now, updated_at=now,
        )  # fmt: skip
        if await store.of_line(conn, line.id) is not None or not await store.insert(conn, card):
            raise ContactCardExists()
        await ctx.emitter.emit(
            conn, event_type="contact_card.created", data=card_created_json(card, now), partner_id=partner_id,
            trace_id=trace_id, phone_number=line.phone_number,
        )  # fmt: skip
    return card


async def update_card(
    ctx: DomainContext, partner_id: str, phone_number: str, fields: CardFields, trace_id: str
) -> ContactCard:
    """Merge the given fields into the line's card (404/2012 when it has none). ``contact_card.updated``."""
    check_fields(fields)
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        line = await _own_line(conn, partner_id, phone_number)
        card = await store.of_line(conn, line.id)
        if card is None:
            raise ContactCardNotFound()
        await _take_write(ctx, conn, partner_id, line)
        updated = replace(
            card,
            first_name=fields.first_name if fields.first_name is not None else card.first_name,
            last_name=fields.last_name if fields.last_name is not None else card.last_name,
            image_url=fields.image_url if fields.image_url is not None else card.image_url,
            is_active=True,
            updated_at=now,
        )
        await store.update(conn, updated)
        if (updated.first_name, updated.last_name, updated.image_url) != (
            card.first_name,
            card.last_name,
            card.image_url,
        ):
            await ctx.emitter.emit(
                conn, event_type="contact_card.updated", data=card_updated_json(card, updated, now),
                partner_id=partner_id, trace_id=trace_id, phone_number=line.phone_number,
            )  # fmt: skip
    return updated


async def list_cards(ctx: DomainContext, partner_id: str, phone_number: str | None) -> list[ContactCard]:
    """The partner's cards, or one line's (404/2012 when that line has none)."""
    async with ctx.db.read() as conn:
        if phone_number is None:
            return await store.of_partner(conn, partner_id)
        line = await _own_line(conn, partner_id, phone_number)
        card = await store.of_line(conn, line.id)
    if card is None:
        raise ContactCardNotFound()
    return [card]


async def share_card(ctx: DomainContext, partner_id: str, chat_id: str) -> None:
    """Share the chat's line's active card into the chat: 404/2012 without one, 429/1007 within 5 minutes."""
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        chat = await open_chat(ctx.db, conn, partner_id, chat_id)
        card = await store.of_line(conn, chat.line_id)
        if card is None or not card.is_active:
            raise ContactCardNotFound()
        limit = throttles.SHARE_CONTACT_CARD
        frees_at = await rate_windows.take(
            ctx.db, conn, partner_id, f"share_contact_card:{chat.id}", limit=limit.calls, window=limit.window, now=now
        )
        throttles.check_window(frees_at, now)
