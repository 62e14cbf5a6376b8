"""A minimal webhook receiver for benchmarks, run as its own process so it does not share a core's GIL.

GET /stats answers {webhook-id: receipt unix time}, GET /count how many; POST /reset clears them.
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
    while (await receive()).get("more_body"):
        pass
    body = b"ok"
    if scope["method"] == "GET":
        body = json.dumps(received if scope["path"] == "/stats" else len(received)).encode()
    elif scope["path"] == "/reset":
        received.clear()
    else:
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                received.setdefault(value.decode(), now)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
