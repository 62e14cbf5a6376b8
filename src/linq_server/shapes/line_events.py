"""Events about a partner's own lines (``phone_number.status_updated``)."""

from __future__ import annotations

from datetime import datetime

from linq_server.clock import isoformat
from linq_server.webhooks.emitter import Event

# Line reputation is not simulated: every line reads HEALTHY, whatever its status.
_REPUTATION = "HEALTHY"


def line_status_updated(
    partner_id: str, phone_number: str, previous: str, new: str, at: datetime, trace_id: str
) -> Event:
    data = {
        "changed_at": isoformat(at), "phone_number": phone_number, "previous_status": previous, "new_status": new,
        "previous_reputation": _REPUTATION, "new_reputation": _REPUTATION,
    }  # fmt: skip
    return Event("phone_number.status_updated", data, partner_id, trace_id, phone_number)
