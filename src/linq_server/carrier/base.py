"""What the rest of the server asks of a delivery network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from linq_server.vocabulary import ChangeKind

SERVICE_ORDER = ("iMessage", "RCS", "SMS")


@dataclass(frozen=True, slots=True)
class GroupOperation:
    """One change to a group on the network. ``handle`` is the member concerned (our line for
    leave, rename and set_icon); ``value`` the new name or icon URL."""

    kind: ChangeKind
    partner_id: str
    chat_id: str
    handle: str
    value: str | None = None


class Carrier(Protocol):
    async def reachability(self, partner_id: str, handles: list[str]) -> dict[str, frozenset[str]]:
        """The services on which each of ``handles`` can receive messages (one look-up for them all)."""
        ...

    async def carry_out(self, operations: list[GroupOperation]) -> list[str | None]:
        """Carry out group operations; returns, in order, None for each done and the reason for each refused.

        Returns once they have taken effect on the network.
        """
        ...
