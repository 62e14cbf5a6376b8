"""/sandbox/handles/{handle}: set or read what a simulated handle can receive (partner key required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Names
from linq_server.domain import devices, gate_settings, sandbox
from linq_server.domain.errors import InvalidParameterValue

router = APIRouter(tags=["Sandbox"])


class HandleBody(BaseModel):
    # Strict: `true` is not a delay of 1 ms, nor "yes" a bool (400/1005, never coerced).
    model_config = ConfigDict(strict=True)

    services: Names
    failing_operations: Names = []
    delivery_ms: int | None = None
    auto_read_ms: int | None = None
    offline: bool = False
    blocked: bool = Field(False, description="On your blocklist: direct sends → 403/2026, its messages dropped")
    replies: Any = Field(
        default=None,
        description='`[{"match": regex, "reply": text, "after_ms": n}]`: the first '
        "rule whose regex finds a match in a delivered message answers after `after_ms` (at most "
        "20 rules); omitted: the handles file's",
    )


class HandleChanges(BaseModel):
    """``PATCH``: the fields given change, the others stay as they are (the same types as ``PUT``)."""

    model_config = ConfigDict(strict=True)

    services: Names | None = None
    failing_operations: Names | None = None
    delivery_ms: int | None = None
    auto_read_ms: int | None = None
    offline: bool | None = None
    blocked: bool | None = None
    replies: Any = None


class ReplyRule(BaseModel):
    match: str
    reply: str
    after_ms: int


class HandleState(BaseModel):
    handle: str
    services: list[str]
    failing_operations: list[str]
    delivery_ms: int | None
    auto_read_ms: int | None
    offline: bool
    replies: list[ReplyRule]
    blocked: bool


@router.put("/sandbox/handles/{handle}", summary="Set a simulated handle's services, faults and device behaviour")
async def put_handle(handle: str, body: HandleBody, app: App, partner: CurrentPartner) -> HandleState:
    # Every field is checked before anything is written: a refused PUT changes nothing.
    if "replies" in body.model_fields_set and body.replies is None:
        # Left out keeps the handles file's replies; null is no list of rules (use [] for none).
        raise InvalidParameterValue("replies must be a list")
    devices.check_behaviour(delivery_ms=body.delivery_ms, auto_read_ms=body.auto_read_ms, replies=body.replies)
    value, _services, _failing = await sandbox.set_handle(
        app, partner.id, handle, body.services, body.failing_operations
    )
    await devices.set_device(
        app,
        partner.id,
        value,
        delivery_ms=body.delivery_ms,
        auto_read_ms=body.auto_read_ms,
        offline=body.offline,
        replies=body.replies,
    )
    await gate_settings.set_blocked(app, partner.id, value, body.blocked)
    return await get_handle(value, app, partner)


@router.patch("/sandbox/handles/{handle}", summary="Change some of a simulated handle's settings, keep the rest")
async def patch_handle(handle: str, body: HandleChanges, app: App, partner: CurrentPartner) -> HandleState:
    current = await get_handle(handle, app, partner)
    changes = body.model_dump(exclude_unset=True)
    for field in ("services", "failing_operations", "offline", "blocked"):
        if field in changes and changes[field] is None:
            raise InvalidParameterValue(f"{field} cannot be null")
    merged = {**current.model_dump(exclude={"handle"}), **changes}
    return await put_handle(handle, HandleBody.model_validate(merged, strict=False), app, partner)


@router.get("/sandbox/handles/{handle}", summary="What a simulated handle can receive")
async def get_handle(handle: str, app: App, partner: CurrentPartner) -> HandleState:
    value, services, failing = await sandbox.describe_handle(app, partner.id, handle)
    device = (await devices.devices_of(app, partner.id, [value]))[value]
    return HandleState(
        handle=value, services=services, failing_operations=failing, delivery_ms=device.delivery_ms,
        auto_read_ms=device.auto_read_ms, offline=device.offline,
        replies=[ReplyRule(match=r.match, reply=r.reply, after_ms=r.after_ms) for r in device.replies],
        blocked=await gate_settings.is_blocked(app, partner.id, value),
    )  # fmt: skip
