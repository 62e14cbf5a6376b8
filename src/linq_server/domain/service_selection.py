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
