"""Sandbox webhook faults, applied as deliveries are recorded: duplicates, delays, reordering."""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.sandbox_faults import SandboxFaults

# "shuffle" holds each delivery back a random time of up to this, so deliveries overtake each other.
SHUFFLE_WINDOW_SECONDS = 1.0


class WebhookFaultPlanner:
    """Applies a partner's webhook faults as its deliveries are recorded (in the emitter's transaction)."""

    def __init__(self, faults: SandboxFaults, rng: random.Random | None = None) -> None:
        self.faults = faults
        self.rng = rng or random.Random()

    async def plan(
        self, conn: AsyncConnection, partner_id: str, deliveries: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], float]]:
        """Each delivery row with the seconds to hold it back; duplicates are extra rows of the same event."""
        if not deliveries:
            return []
        faults = await self.faults.webhooks_of(conn, partner_id)
        if not faults.active:
            return [(row, 0.0) for row in deliveries]
        planned: list[tuple[dict[str, Any], float]] = []
        for row in deliveries:
            copies = [row]
            if self.rng.random() < faults.duplicate:
                copies.append({**row, "id": str(uuid.uuid4())})
            for copy in copies:
                extra = self.rng.uniform(0, SHUFFLE_WINDOW_SECONDS) if faults.shuffle else 0.0
                planned.append((copy, faults.delay_ms / 1000 + extra))
        return planned
