"""Sandbox control of the send gates (api-core §7.4, §18): flag a line, block a handle, and require
recipients to message the partner first, as a sandbox account does."""

from __future__ import annotations

import secrets

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, PhoneNumberPermissionDenied
from linq_server.domain.handles import parse_handle, parse_phone_number
from linq_server.shapes.line_events import line_status_updated
from linq_server.store import blocked_handles as blocked_store
from linq_server.store import partners as partner_store
from linq_server.store.partners import PhoneLine
from linq_server.vocabulary import LineStatus


async def _own_line(ctx: DomainContext, partner_id: str, phone_number: str) -> PhoneLine:
    async with ctx.db.read() as conn:
        line = await partner_store.line_by_number(conn, parse_phone_number(phone_number))
    if line is None or line.partner_id != partner_id:
        raise PhoneNumberPermissionDenied()
    return line


async def line_status(ctx: DomainContext, partner_id: str, phone_number: str) -> str:
    return (await _own_line(ctx, partner_id, phone_number)).status


async def set_line_status(ctx: DomainContext, partner_id: str, phone_number: str, status: str) -> str:
    """Flag a line (ineligible: 403/2027 on new activity) or make it active again; a change emits
    ``phone_number.status_updated``."""
    if status not in set(LineStatus):
        raise InvalidParameterValue(f"status must be one of {', '.join(LineStatus)}")
    line = await _own_line(ctx, partner_id, phone_number)
    async with ctx.db.write() as conn:
        previous = await partner_store.set_line_status(conn, line.id, LineStatus(status))
        if previous != status:
            event = line_status_updated(
                partner_id, line.phone_number, previous, status, ctx.clock.now(), secrets.token_hex(16)
            )
            await ctx.emitter.emit_all(conn, [event])
    return status


async def set_blocked(ctx: DomainContext, partner_id: str, raw_handle: str, blocked: bool) -> str:
    """Put a handle on the partner's blocklist, or take it off; returns the normalised handle."""
    handle = parse_handle(raw_handle).value
    async with ctx.db.write() as conn:
        if blocked:
            await blocked_store.block(ctx.db, conn, partner_id, handle, ctx.clock.now())
        else:
            await blocked_store.unblock(conn, partner_id, handle)
    return handle


async def is_blocked(ctx: DomainContext, partner_id: str, handle: str) -> bool:
    async with ctx.db.read() as conn:
        return bool(await blocked_store.blocked(conn, partner_id, [handle]))


async def set_recipients_must_message_first(ctx: DomainContext, partner_id: str, value: bool) -> bool:
    async with ctx.db.write() as conn:
        await partner_store.set_recipients_must_message_first(conn, partner_id, value)
    return value


async def recipients_must_message_first(ctx: DomainContext, partner_id: str) -> bool:
    async with ctx.db.read() as conn:
        return await partner_store.recipients_must_message_first(conn, partner_id)
