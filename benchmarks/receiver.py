"""A minimal webhook receiver for benchmarks, run as its own process so it does not share a core's GIL.

GET /stats answers {webhook-id: receipt unix time}, GET /traces {trace id: receipt time} of participant
events, GET /count how many; POST /reset clears them.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn

received: dict[str, float] = {}
# For participant events: receipt time by the trace id of the API call that caused them.
by_trace: dict[str, float] = {}


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
        views = {"/stats": received, "/traces": by_trace}
        body = json.dumps(views[scope["path"]] if scope["path"] in views else len(received)).encode()
    elif scope["path"] == "/reset":
        received.clear()
        by_trace.clear()
    else:
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                received.setdefault(value.decode(), now)
            if name == b"x-webhook-event" and value.startswith(b"participant."):
                by_trace.setdefault(json.loads(b"".join(chunks))["trace_id"], now)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
