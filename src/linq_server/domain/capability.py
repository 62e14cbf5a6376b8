"""Capability checks (api-core §16): can this address get iMessage, or RCS, and what would carry a message now.

Answered from the sandbox network (the handle's services, with overrides) and the sending line's RCS
setting (``PUT /sandbox/lines/{phone_number}``): a line without working RCS makes ``check_rcs`` a 503.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.carrier.base import SERVICE_ORDER
from linq_server.domain import throttles
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue, InvalidPhoneNumber, LinqError, PhoneNumberPermissionDenied
from linq_server.domain.handles import parse_handle, parse_phone_number
from linq_server.domain.service_selection import LINE_SERVICES
from linq_server.store import partners as partner_store
from linq_server.store import rate_windows, sandbox_lines
from linq_server.store.partners import PhoneLine
from linq_server.vocabulary import RcsState


class RcsNotEnabled(LinqError):
    status, code, default_message = 503, 4004, "Service unavailable: RCS is not enabled on this line"
    should_retry = False


class NoRcsAccount(LinqError):
    status, code, default_message = 503, 4009, "Service unavailable: this line has no RCS account"
    should_retry = False


class RcsCheckFailed(LinqError):
    # Transient by definition: the SDK may retry it.
    status, code, default_message = 503, 4010, "Service unavailable: the RCS check could not run"


_SENDER_FAULTS: dict[str, type[LinqError]] = {
    RcsState.NOT_ENABLED: RcsNotEnabled,
    RcsState.NO_ACCOUNT: NoRcsAccount,
    RcsState.CHECK_FAILS: RcsCheckFailed,
}


@dataclass(frozen=True, slots=True)
class CapabilityAnswer:
    address: str
    available: bool
    selected_service: str | None

    @property
    def reason(self) -> str | None:
        return None if self.available else "not_supported"


def line_services(line_type: str, rcs: str) -> frozenset[str]:
    """What a line can send: by its type, less RCS when RCS does not work on it."""
    services = LINE_SERVICES.get(line_type, LINE_SERVICES["iMessage"])
    return services if rcs == RcsState.ENABLED else services - {"RCS"}


def answer(checked: str, address: str, recipient: frozenset[str], sendable: frozenset[str]) -> CapabilityAnswer:
    """``available``: the recipient can get ``checked``; ``selected_service``: the first of iMessage → RCS → SMS
    both ends share, which is what would carry a message now (None when they share nothing)."""
    selected = next((service for service in SERVICE_ORDER if service in recipient and service in sendable), None)
    return CapabilityAnswer(address, checked in recipient, selected)


def check_rcs_address(raw: str) -> str:
    """RCS has no email addressing: 400/1002 for an email, and for anything not E.164."""
    if "@" in raw:
        raise InvalidPhoneNumber("check_rcs needs an E.164 phone number: RCS has no email addressing")
    return parse_phone_number(raw)


async def _sending_line(conn: AsyncConnection, partner_id: str, sender: str | None) -> tuple[PhoneLine, str]:
    """The line named by ``from`` (403/2006 unless the partner's), else the partner's first line with working
    RCS, else its first line; with that line's RCS state."""
    if sender is not None:
        line = await partner_store.line_by_number(conn, parse_phone_number(sender))
        if line is None or line.partner_id != partner_id:
            raise PhoneNumberPermissionDenied()
        return line, await sandbox_lines.rcs_of(conn, line.id) or RcsState.ENABLED
    lines = await partner_store.lines_of(conn, partner_id)
    if not lines:
        raise PhoneNumberPermissionDenied("This API key has no phone line to check from")
    states = await sandbox_lines.rcs_of_lines(conn, [line.id for line in lines])
    ranked = sorted(lines, key=lambda line: states.get(line.id, RcsState.ENABLED) != RcsState.ENABLED)
    return ranked[0], states.get(ranked[0].id, RcsState.ENABLED)


async def check(
    ctx: DomainContext, partner_id: str, checked: str, address: str, sender: str | None
) -> CapabilityAnswer:
    """One capability check (``checked`` is iMessage or RCS), at most once per 10 s per address (429/1007)."""
    handle = check_rcs_address(address) if checked == "RCS" else parse_handle(address).value
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        line, rcs = await _sending_line(conn, partner_id, sender)
        if checked == "RCS" and rcs != RcsState.ENABLED:
            raise _SENDER_FAULTS[rcs]()
        limit = throttles.CAPABILITY_CHECK
        frees_at = await rate_windows.take(
            ctx.db, conn, partner_id, f"check_{checked.lower()}:{handle}", limit=limit.calls, window=limit.window,
            now=now,
        )  # fmt: skip
        throttles.check_window(frees_at, now)
    recipient = (await ctx.carrier.reachability(partner_id, [handle]))[handle]
    return answer(checked, handle, recipient, line_services(line.line_type, rcs))


async def set_line_rcs(ctx: DomainContext, partner_id: str, phone_number: str, rcs: str) -> str:
    """Sandbox: set what ``check_rcs`` meets on the partner's line."""
    if rcs not in set(RcsState):
        raise InvalidParameterValue(f"Invalid parameter value: rcs must be one of {', '.join(RcsState)}")
    async with ctx.db.write() as conn:
        line, _ = await _sending_line(conn, partner_id, phone_number)
        await sandbox_lines.put_rcs(ctx.db, conn, line.id, rcs, ctx.clock.now())
    return rcs


async def line_rcs(ctx: DomainContext, partner_id: str, phone_number: str) -> str:
    async with ctx.db.read() as conn:
        _, rcs = await _sending_line(conn, partner_id, phone_number)
    return rcs
