"""The floor of the framework linq-server is built on: its participants route in FastAPI, doing no work.

python -m benchmarks.floor PORT

The same request and answer as ``linq-server serve``'s participants route, through the same kind of layers
(a pure ASGI middleware that gives every response a trace id, a pydantic body model, a bearer-key
dependency, a trace-id dependency), with nothing behind them: no database, no job, no webhook. What
linq-server does per add (commit, apply, announce) comes on top of this, so this row bounds what tuning the
rest can ever reach on the same machine.
"""

from __future__ import annotations

import sys
import uuid
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TraceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        trace_id = uuid.uuid4().hex
        scope.setdefault("state", {})["trace_id"] = trace_id

        async def with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-trace-id", trace_id.encode())]
            await send(message)

        await self.app(scope, receive, with_trace)


class ParticipantBody(BaseModel):
    handle: Any


async def partner(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(401)
    return key.strip()


async def trace_id(request: Request) -> str:
    value: str = request.state.trace_id
    return value


app = FastAPI()
app.add_middleware(TraceMiddleware)


@app.api_route("/api/partner/v3/chats/{chat_id}/participants", methods=["POST", "DELETE"], status_code=202)
async def participants(
    chat_id: str,
    body: ParticipantBody,
    key: Annotated[str, Depends(partner)],
    trace: Annotated[str, Depends(trace_id)],
) -> JSONResponse:
    answer = {"message": "Participant addition queued", "status": "accepted", "trace_id": trace}
    return JSONResponse(answer, status_code=202)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
