"""A minimal webhook receiver for benchmarks, run as its own process so it does not share a core's GIL.

    python -m benchmarks.receiver PORT

It keeps every delivery, duplicates included, so a benchmark can count lost and repeated events:
* GET /deliveries: a list of [webhook-id, event type, trace id, chat id, handle, receipt unix time];
* GET /count: how many deliveries arrived;
* POST /reset: forget them all (between databases);
* any other POST: a delivery, answered 200.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn

Delivery = tuple[str, str, str, str, str, float]
deliveries: list[Delivery] = []


def _delivery(headers: list[tuple[bytes, bytes]], body: bytes, now: float) -> Delivery:
    found = {name: value.decode() for name, value in headers if name in (b"webhook-id", b"x-webhook-event")}
    event = json.loads(body)
    data = event.get("data") or {}
    return (
        found.get(b"webhook-id", ""),
        found.get(b"x-webhook-event", event.get("event_type", "")),
        event.get("trace_id") or "",
        data.get("chat_id") or "",
        data.get("handle") or "",
        now,
    )


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
        body = json.dumps(deliveries if scope["path"] == "/deliveries" else len(deliveries)).encode()
    elif scope["path"] == "/reset":
        deliveries.clear()
    else:
        deliveries.append(_delivery(scope["headers"], b"".join(chunks), now))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
