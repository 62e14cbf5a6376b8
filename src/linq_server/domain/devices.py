"""The simulated recipient devices of the sandbox network: what each handle's phone does with a message.

A handle override may set a delivery latency (``delivery_ms``), reading by itself after a delay
(``auto_read_ms``; off by default), ``offline`` (nothing is delivered until it is back) and
``failing_operations: ["deliver"]`` (every delivery fails).
"""

from __future__ import annotations

from dataclasses import dataclass

from linq_server.domain.context import DomainContext
from linq_server.domain.errors import InvalidParameterValue
from linq_server.store import devices as device_store
from linq_server.store import message_recipients as recipient_store
from linq_server.store import sandbox_handles as handle_store

DELIVER = "deliver"
DEVICE_JOB = "message.device"
DEVICE_JOB_ATTEMPTS = 20
MAX_DEVICE_DELAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Device:
    services: frozenset[str]
    delivery_ms: int | None
    auto_read_ms: int | None
    offline: bool
    failing: frozenset[str]


async def devices_of(ctx: DomainContext, partner_id: str, handles: list[str]) -> dict[str, Device]:
    reachable = await ctx.carrier.reachability(partner_id, handles)
    async with ctx.db.read() as conn:
        overrides = await handle_store.handle_overrides(conn, partner_id, handles)
    devices = {}
    for handle in handles:
        override = overrides.get(handle, {})
        devices[handle] = Device(
            services=reachable[handle],
            delivery_ms=override.get("delivery_ms"),
            auto_read_ms=override.get("auto_read_ms"),
            offline=bool(override.get("offline")),
            failing=frozenset(override.get("failing_operations") or ()),
        )
    return devices


async def set_device(
    ctx: DomainContext,
    partner_id: str,
    handle: str,
    *,
    delivery_ms: int | None = None,
    auto_read_ms: int | None = None,
    offline: bool = False,
) -> None:
    """Set how ``handle``'s device behaves; a device coming back online receives what waited for it."""
    for name, value in (("delivery_ms", delivery_ms), ("auto_read_ms", auto_read_ms)):
        if value is not None and not 0 <= value <= MAX_DEVICE_DELAY_MS:
            raise InvalidParameterValue(f"{name} must be between 0 and {MAX_DEVICE_DELAY_MS}")
    services = sorted((await ctx.carrier.reachability(partner_id, [handle]))[handle])
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        await device_store.put_device(
            ctx.db, conn, partner_id, handle, services=services, delivery_ms=delivery_ms, auto_read_ms=auto_read_ms,
            offline=offline, now=now,
        )  # fmt: skip
        if not offline:
            waiting = await recipient_store.waiting_for(conn, partner_id, handle)
            payloads = [{"message_id": message_id, "handle": handle, "action": DELIVER} for message_id in waiting]
            await ctx.queue.enqueue_many(
                conn, DEVICE_JOB, payloads, delay_seconds=(delivery_ms or 0) / 1000, max_attempts=DEVICE_JOB_ATTEMPTS
            )
