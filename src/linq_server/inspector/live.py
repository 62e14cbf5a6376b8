"""``/inspector/events``: one server-sent event stream per signed-in page, fed by the database.

Each stream compares the partner's activity mark (``store/activity.py``) every ``POLL_SECONDS`` and
sends ``change`` when it moved; the page then redraws its live regions. Reading the database rather
than hooking the emitter means a change made by any process (another server, a worker) shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import Request

from linq_server.domain.context import DomainContext
from linq_server.inspector import queries

POLL_SECONDS = 0.5
# A stream ends by itself after this; EventSource reconnects (after ``RETRY_MS``) and the page
# redraws once, so nothing is missed, and a server shutting down never waits long on an open stream.
STREAM_SECONDS = 30.0
RETRY_MS = 1000
KEEPALIVE_SECONDS = 15.0


async def changes(ctx: DomainContext, request: Request, partner_id: str) -> AsyncIterator[str]:
    mark = await queries.activity(ctx, partner_id)
    yield f"retry: {RETRY_MS}\nevent: ready\ndata: {{}}\n\n"
    started = last_sent = time.monotonic()
    while time.monotonic() - started < STREAM_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now_mark = await queries.activity(ctx, partner_id)
        if now_mark != mark:
            mark = now_mark
            last_sent = time.monotonic()
            yield "event: change\ndata: {}\n\n"
        elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            last_sent = time.monotonic()
            yield ": still here\n\n"
