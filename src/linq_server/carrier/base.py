"""What the rest of the server asks of a delivery network."""

from __future__ import annotations

from typing import Protocol

SERVICE_ORDER = ("iMessage", "RCS", "SMS")


class CarrierRefused(Exception):
    """The network would not carry out the operation; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Carrier(Protocol):
    """Group operations are asynchronous on a real network; each call returns once it has taken effect."""

    async def services_of(self, partner_id: str, handle: str) -> frozenset[str]:
        """The services on which ``handle`` can receive messages."""
        ...

    async def add_member(self, partner_id: str, chat_id: str, handle: str) -> None: ...

    async def remove_member(self, partner_id: str, chat_id: str, handle: str) -> None: ...

    async def leave(self, partner_id: str, chat_id: str, line: str) -> None: ...

    async def rename(self, partner_id: str, chat_id: str, line: str, name: str) -> None: ...

    async def set_icon(self, partner_id: str, chat_id: str, line: str, url: str) -> None: ...
