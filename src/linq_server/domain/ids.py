"""Resource ids: UUIDs, as Linq's are."""

from __future__ import annotations

import uuid

from linq_server.domain.errors import LinqError


def parse_id(raw: str, not_found: type[LinqError]) -> str:
    """The canonical form of a UUID id; anything else names no resource, so ``not_found`` (a 404)."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, TypeError) as error:
        raise not_found() from error
