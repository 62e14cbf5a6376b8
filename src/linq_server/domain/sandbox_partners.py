"""Sandbox accounts: a fresh partner per test (admin key), and wiping a partner's sandbox clean."""

from __future__ import annotations

import hmac
import random
import uuid
from typing import ClassVar

from linq_server.domain import partners
from linq_server.domain.attachments import PURGE_JOB
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, LinqError, Unauthorized
from linq_server.store.sandbox_reset import delete_partner_data, stored_attachment_keys

MAX_LINES = 10
# Fictional-looking US numbers from a few area codes: ten million per code, so a clash is rare and retried.
_AREA_CODES = ("202", "212", "312", "415", "646")
_ATTEMPTS = 5


class AdminKeyNotConfigured(LinqError):
    status, code = 403, 2005
    default_message: ClassVar[str] = "Access denied: set LINQ_SERVER_ADMIN_KEY to create partners over HTTP"


def check_admin(configured: str | None, authorization: str) -> None:
    """The bearer token must equal the configured admin key; no admin key configured refuses everyone."""
    if not configured:
        raise AdminKeyNotConfigured()
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), configured.encode()):
        raise Unauthorized()


def check_line_count(count: int) -> int:
    if not 1 <= count <= MAX_LINES:
        raise InvalidParameterValue(f"lines must be between 1 and {MAX_LINES}")
    return count


def random_line(rng: random.Random) -> str:
    return f"+1{rng.choice(_AREA_CODES)}{rng.randrange(2_000_000, 10_000_000)}"


async def create_sandbox_partner(
    ctx: DomainContext, *, name: str | None, phone_numbers: list[str] | None, line_count: int
) -> partners.NewPartner:
    """A partner with a new key and its own lines: the ones asked for, or ``line_count`` random ones."""
    rng = random.SystemRandom()
    fixed = bool(phone_numbers or name)
    check_line_count(len(phone_numbers) if phone_numbers else line_count)
    attempt = 1
    while True:
        numbers = phone_numbers or [random_line(rng) for _ in range(line_count)]
        try:
            return await partners.create_partner(ctx.db, name or f"sandbox-{uuid.uuid4().hex[:12]}", numbers)
        except InvalidParameterValue:
            # A random number someone already owns: draw again. Asked-for numbers and names fail at once.
            if fixed or attempt >= _ATTEMPTS:
                raise
            attempt += 1


async def reset_partner(ctx: DomainContext, partner_id: str) -> dict[str, int]:
    """Delete everything the partner made in its sandbox; the partner, its keys and lines stay.

    Attachment bytes are purged by jobs written in the same transaction, so none is left behind.
    """
    async with ctx.db.write() as conn:
        keys = await stored_attachment_keys(conn, partner_id)
        await ctx.queue.enqueue_many(conn, PURGE_JOB, [{"storage_key": key} for key in keys])
        return await delete_partner_data(conn, partner_id)
