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
# redraws once, so nothing is missed. Short, because a stopping server waits for open responses
# to finish (uvicorn does not cancel them), and no proxy times out a stream this young.
STREAM_SECONDS = 15.0
RETRY_MS = 1000


async def changes(ctx: DomainContext, request: Request, partner_id: str, since: str) -> AsyncIterator[str]:
    """``ready``, then ``change`` whenever the mark moves; at once if it moved since the page's ``since``."""
    mark = await queries.activity(ctx, partner_id)
    yield f"retry: {RETRY_MS}\nevent: ready\ndata: {{}}\n\n"
    if queries.mark_text(mark) != since:
        yield "event: change\ndata: {}\n\n"
    started = time.monotonic()
    while time.monotonic() - started < STREAM_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now_mark = await queries.activity(ctx, partner_id)
        if now_mark != mark:
            mark = now_mark
            yield "event: change\ndata: {}\n\n"
