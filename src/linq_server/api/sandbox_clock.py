"""/sandbox/clock: the server's time, and moving it (``LINQ_SERVER_CLOCK=manual`` only; 409 otherwise)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from linq_server.api.deps import App, CurrentPartner
from linq_server.clock import isoformat
from linq_server.domain import sandbox_clock

router = APIRouter(tags=["Sandbox"])


class ClockState(BaseModel):
    now: str = Field(description="The server's current time (UTC, milliseconds)")


class AdvanceBody(BaseModel):
    seconds: float = Field(description="How far to move time forward (more than 0, at most 86400)")


@router.get("/sandbox/clock", summary="The server's time")
async def get_clock(app: App, _partner: CurrentPartner) -> ClockState:
    return ClockState(now=isoformat(sandbox_clock.manual_clock(app.clock).now()))


@router.post(
    "/sandbox/clock/advance",
    summary="Move the manual clock forward",
    description="Everything due by the new time (webhook retries, scheduled jobs, simulated delays) runs at once. "
    "The clock is shared by every partner of this server process.",
)
async def advance_clock(body: AdvanceBody, app: App, _partner: CurrentPartner) -> ClockState:
    return ClockState(now=isoformat(sandbox_clock.advance(app.clock, body.seconds)))
