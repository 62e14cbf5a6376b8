"""Which service a chat uses: the first of iMessage → RCS → SMS that everyone in it can receive."""

from __future__ import annotations

from collections.abc import Iterable

from linq_server.carrier.base import SERVICE_ORDER
from linq_server.domain.errors import InvalidParameterValue

# What a line itself can send: RCS-only lines send RCS and SMS, never iMessage.
LINE_SERVICES = {"iMessage": frozenset(SERVICE_ORDER), "RCS": frozenset({"RCS", "SMS"})}


def select_service(recipients: Iterable[frozenset[str]], line_type: str, preferred: str | None = None) -> str:
    """The chat's service. ``preferred`` wins when the line and every recipient support it.

    Raises ``InvalidParameterValue`` (400/1005) when the recipients share no service the line can send.
    """
    common = set(LINE_SERVICES.get(line_type, LINE_SERVICES["iMessage"]))
    for services in recipients:
        common &= services
    if preferred in common:
        return str(preferred)
    for service in SERVICE_ORDER:
        if service in common:
            return service
    raise InvalidParameterValue("These recipients share no messaging service; message them in separate chats")


# Content only iMessage carries: it never falls back to another service (api-core §13.2).
IMESSAGE_ONLY_PARTS = frozenset({"imessage_app", "app_clip"})


def fallback_service(
    service: str, *, preferred: str | None, receivable: frozenset[str], line_type: str, part_types: set[str]
) -> str | None:
    """The service a direct message falls back to when the recipient's device cannot take ``service``: the
    next of iMessage → RCS → SMS that the device takes and the line sends (api-core §13.6). None when it
    fails instead: ``preferred_service: "iMessage"`` never falls back, nor do iMessage-only parts."""
    if preferred == "iMessage" or part_types & IMESSAGE_ONLY_PARTS or service not in SERVICE_ORDER:
        return None
    line = LINE_SERVICES.get(line_type, LINE_SERVICES["iMessage"])
    later = SERVICE_ORDER[SERVICE_ORDER.index(service) + 1 :]
    return next((candidate for candidate in later if candidate in receivable and candidate in line), None)
