"""A webhook receiver for the messages benchmark, in its own process.

Records, for every event, its receipt time by "<event type> <trace id>"; GET /events answers them,
GET /count how many; POST /reset clears them.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn

received: dict[str, float] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    now = time.time()
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"ok"
    if scope["method"] == "GET":
        body = json.dumps(received if scope["path"] == "/events" else len(received)).encode()
    elif scope["path"] == "/reset":
        received.clear()
    else:
        event = json.loads(b"".join(chunks))
        received.setdefault(f"{event['event_type']} {event['trace_id']}", now)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
