"""What the rest of the server asks of a delivery network.

The network never makes its caller wait. Work is handed over with ``accept``, which answers at
once with when each piece takes effect on the far side; the caller records that moment as a
durable job due at ``clock.now() + delay`` on the injected clock, and when the job falls due asks
``settle`` what the far side did. So a manual clock drives the whole world in tests, a slow device
holds up no worker, and a crash loses nothing (the job is in the database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from linq_server.vocabulary import ChangeKind

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from linq_server.domain.device_replies import Reply

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
    async def reachability(
        self, partner_id: str, handles: list[str], conn: AsyncConnection | None = None
    ) -> dict[str, frozenset[str]]:
        """The services on which each of ``handles`` can receive messages (one look-up for them all), read in
        ``conn``'s transaction when the caller is in one."""
        ...

    def services_of(self, handle: str, override: Mapping[str, Any] | None) -> frozenset[str]:
        """What ``reachability`` answers for ``handle`` when its partner's override row (None: none) is at hand."""
        ...

    def default_replies(self, handle: str) -> tuple[Reply, ...]:
        """What ``handle``'s device answers by itself unless a partner's override says otherwise."""
        ...

    def accept(self, operations: list[GroupOperation]) -> list[float]:
        """Hand operations to the network; returns at once, in order, the seconds until each takes effect."""
        ...

    async def settle(self, operations: list[GroupOperation]) -> list[str | None]:
        """What the network did with operations whose time has come: in order, None for each carried out and
        the reason for each refused. Returns at once (it never waits for the far side)."""
        ...
