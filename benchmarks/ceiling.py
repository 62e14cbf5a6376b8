"""The ceiling for this stack: a bare Starlette route answering what the participants route answers.

python -m benchmarks.ceiling PORT
"""

from __future__ import annotations

import sys
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def participants(request: Request) -> JSONResponse:
    await request.body()
    trace_id = uuid.uuid4().hex
    body = {"message": "Participant addition queued", "status": "accepted", "trace_id": trace_id}
    return JSONResponse(body, status_code=202, headers={"x-trace-id": trace_id})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/api/partner/v3/chats/{chat_id}/participants", participants, methods=["POST", "DELETE"]),
        Route("/healthz", healthz),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
