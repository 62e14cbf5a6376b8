"""Trace ids: one fresh W3C-style trace id (32 lowercase hex) per request, on every response."""

from __future__ import annotations

import logging
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linq_server.api.errors import answered, failure_response

log = logging.getLogger("linq_server.api")


def new_trace_id() -> str:
    return uuid.uuid4().hex


class TraceMiddleware:
    """Adds ``X-Trace-ID`` to every response and turns an unexpected exception into 500/3006 (503/3001 while
    the database is away).

    It sits outside the routing stack so even an error raised past FastAPI's handlers still answers
    with the envelope and the trace id (Starlette's own last-resort handler answers in plain text).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = new_trace_id()
        scope.setdefault("state", {})["trace_id"] = trace_id
        header = (b"x-trace-id", trace_id.encode())
        started = False

        async def send_with_trace(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as error:
            if started:
                log.exception("unhandled error after the answer began (trace_id=%s)", trace_id)
                raise
            await failure_response(error, trace_id)(scope, receive, send_with_trace)
        else:
            answered()
