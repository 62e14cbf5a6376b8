"""The relay of ``linq webhooks listen``: the WebSocket ``/relay-ws`` and the webhook target ``POST /relay/{id}``."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, WebSocket

from linq_server.api.deps import App, KeyCache
from linq_server.domain.relay import RelayConnectionUnavailable, RelayHub, is_init_frame, relay_delivery

router = APIRouter(tags=["Relay"])

# The close code that `linq webhooks listen` reports as "Authentication failed. Check your API token."
BAD_TOKEN_CLOSE_CODE = 4001


async def relay_hub(request: Request) -> RelayHub:
    hub: RelayHub = request.app.state.relay_hub
    return hub


Hub = Annotated[RelayHub, Depends(relay_hub)]


@router.websocket("/relay-ws")
async def relay_socket(websocket: WebSocket) -> None:
    """Authenticated by the partner's API key in ``?token=``; ``{"action":"init"}`` is answered with the
    connection id, then every delivery to ``/relay/{that id}`` arrives as one text frame: the webhook body."""
    hub: RelayHub = websocket.app.state.relay_hub
    cache: KeyCache = websocket.app.state.key_cache
    # Accept first: a close code reaches the client only on an open socket (a refused handshake is a bare 403).
    await websocket.accept()
    token = websocket.query_params.get("token", "").strip()
    partner = await cache.partner_for(websocket.app.state.services.db, token) if token else None
    if partner is None:
        await websocket.close(code=BAD_TOKEN_CLOSE_CODE, reason="Invalid API key")
        return
    connection_id: str | None = None
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if is_init_frame(frame.get("text")):
                connection_id = connection_id or hub.open(partner.id, websocket.send_text)
                await hub.send(connection_id, json.dumps({"connectionId": connection_id}))
    except RelayConnectionUnavailable:
        return  # the socket closed before the connection id reached it
    finally:
        if connection_id:
            hub.close(connection_id)


@router.post("/relay/{connection_id}", summary="Relay a webhook delivery to a `linq webhooks listen` session")
async def relay(connection_id: str, request: Request, app: App, hub: Hub) -> Response:
    await relay_delivery(app.db, app.secrets, hub, connection_id, await request.body(), request.headers)
    return Response(status_code=204)
