"""The sandbox control plane: what a simulated handle can receive, and which operations fail for it."""

from __future__ import annotations

from linq_server.carrier.base import SERVICE_ORDER
from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.handles import parse_handle
from linq_server.store import sandbox_handles as override_store
from linq_server.vocabulary import CarrierOperation


async def set_handle(
    ctx: DomainContext, partner_id: str, raw_handle: str, handle_services: list[str], failing: list[str]
) -> tuple[str, list[str], list[str]]:
    """Override a handle for this partner's sandbox; returns (handle, services, failing operations)."""
    handle = parse_handle(raw_handle).value
    unknown = set(handle_services) - set(SERVICE_ORDER)
    if unknown:
        raise InvalidParameterValue(f"Unknown service(s): {', '.join(sorted(unknown))}")
    bad = set(failing) - set(CarrierOperation)
    if bad:
        raise InvalidParameterValue(
            f"Unknown operation(s): {', '.join(sorted(bad))}; use {', '.join(CarrierOperation)}"
        )
    ordered = [s for s in SERVICE_ORDER if s in handle_services]
    async with ctx.db.write() as conn:
        await override_store.put_handle_override(
            ctx.db, conn, partner_id, handle, ordered, sorted(set(failing)), ctx.clock.now()
        )
    return handle, ordered, sorted(set(failing))


async def describe_handle(ctx: DomainContext, partner_id: str, raw_handle: str) -> tuple[str, list[str], list[str]]:
    handle = parse_handle(raw_handle).value
    async with ctx.db.read() as conn:
        override = await override_store.handle_override(conn, partner_id, handle)
    reachable = (await ctx.carrier.reachability(partner_id, [handle]))[handle]
    failing = list(override["failing_operations"]) if override else []
    return handle, [s for s in SERVICE_ORDER if s in reachable], failing
