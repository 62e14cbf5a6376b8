"""/sandbox/handles/{handle}: set or read what a simulated handle can receive (partner key required)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner
from linq_server.api.fields import Names
from linq_server.domain import sandbox

router = APIRouter(tags=["Sandbox"])


class HandleBody(BaseModel):
    services: Names
    failing_operations: Names = []


class HandleState(BaseModel):
    handle: str
    services: list[str]
    failing_operations: list[str]


@router.put("/sandbox/handles/{handle}", summary="Set a simulated handle's services and faults")
async def put_handle(handle: str, body: HandleBody, app: App, partner: CurrentPartner) -> HandleState:
    value, services, failing = await sandbox.set_handle(app, partner.id, handle, body.services, body.failing_operations)
    return HandleState(handle=value, services=services, failing_operations=failing)


@router.get("/sandbox/handles/{handle}", summary="What a simulated handle can receive")
async def get_handle(handle: str, app: App, partner: CurrentPartner) -> HandleState:
    value, services, failing = await sandbox.describe_handle(app, partner.id, handle)
    return HandleState(handle=value, services=services, failing_operations=failing)
