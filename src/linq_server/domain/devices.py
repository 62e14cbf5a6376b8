"""The simulated recipient devices of the sandbox network: what each handle's phone does with a message.

A handle override may set a delivery latency (``delivery_ms``), reading by itself after a delay
(``auto_read_ms``; off by default), ``offline`` (nothing is delivered until it is back) and
``failing_operations: ["deliver"]`` (every delivery fails), and ``replies`` the device sends by itself
(``domain/device_replies.py``; the handles file's when the override sets none).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.context import DomainContext
from linq_server.domain.device_replies import Reply, check_replies
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
    replies: tuple[Reply, ...] = ()


async def devices_of(
    ctx: DomainContext, partner_id: str, handles: list[str], conn: AsyncConnection | None = None
) -> dict[str, Device]:
    """The devices of ``handles``, read in ``conn``'s transaction when the caller is in one."""
    if conn is None:
        async with ctx.db.read() as reading:
            return await devices_of(ctx, partner_id, handles, reading)
    overrides = await handle_store.handle_overrides(conn, partner_id, handles)
    devices = {}
    for handle in handles:
        found = overrides.get(handle)
        override = found or {}
        stored = override.get("replies")
        devices[handle] = Device(
            services=ctx.carrier.services_of(handle, found),
            delivery_ms=override.get("delivery_ms"),
            auto_read_ms=override.get("auto_read_ms"),
            offline=bool(override.get("offline")),
            failing=frozenset(override.get("failing_operations") or ()),
            replies=ctx.carrier.default_replies(handle) if stored is None else check_replies(stored),
        )
    return devices


def check_behaviour(
    *, delivery_ms: int | None, auto_read_ms: int | None, replies: object
) -> list[dict[str, object]] | None:
    """Delays in range and valid ``replies`` (400/1005); returns the replies to store (None: the file's)."""
    for name, value in (("delivery_ms", delivery_ms), ("auto_read_ms", auto_read_ms)):
        if value is not None and not 0 <= value <= MAX_DEVICE_DELAY_MS:
            raise InvalidParameterValue(f"{name} must be between 0 and {MAX_DEVICE_DELAY_MS}")
    return None if replies is None else [rule.as_json() for rule in check_replies(replies)]


async def set_device(
    ctx: DomainContext,
    partner_id: str,
    handle: str,
    *,
    delivery_ms: int | None = None,
    auto_read_ms: int | None = None,
    offline: bool = False,
    replies: object = None,
) -> None:
    """Set how ``handle``'s device behaves; a device coming back online receives what waited for it.
    ``replies`` None leaves the device to the handles file's replies."""
    checked = check_behaviour(delivery_ms=delivery_ms, auto_read_ms=auto_read_ms, replies=replies)
    services = sorted((await ctx.carrier.reachability(partner_id, [handle]))[handle])
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        await device_store.put_device(
            ctx.db, conn, partner_id, handle, services=services, delivery_ms=delivery_ms, auto_read_ms=auto_read_ms,
            offline=offline, replies=checked, now=now,
        )  # fmt: skip
        if not offline:
            waiting = await recipient_store.waiting_for(conn, partner_id, handle)
            payloads = [{"message_id": message_id, "handle": handle, "action": DELIVER} for message_id in waiting]
            await ctx.queue.enqueue_many(
                conn, DEVICE_JOB, payloads, delay_seconds=(delivery_ms or 0) / 1000, max_attempts=DEVICE_JOB_ATTEMPTS
            )
