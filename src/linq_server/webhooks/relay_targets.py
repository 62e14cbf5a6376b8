"""The server's own relay URLs, ``{public_url}/relay/{connection_id}``: what ``linq webhooks listen`` subscribes."""

from __future__ import annotations

import string

RELAY_PATH = "/relay/"
_CONNECTION_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def relay_target(public_url: str, connection_id: str) -> str:
    """The webhook target that delivers to one relay connection of this server."""
    return f"{public_url.rstrip('/')}{RELAY_PATH}{connection_id}"


def is_own_relay_target(url: str, public_url: str | None) -> bool:
    """Is ``url`` exactly this server's relay URL for some connection (no other path, query or fragment)?

    Production mode exempts these from the loopback/private-address refusal: the server delivers to itself.
    """
    if not public_url:
        return False
    prefix = relay_target(public_url, "")
    connection_id = url[len(prefix) :] if url.startswith(prefix) else ""
    return bool(connection_id) and set(connection_id) <= _CONNECTION_ID_CHARS
