"""Setting a partner's faults, and applying them to its API calls (webhook faults: ``webhook_faults.py``).

Every API call of a sandbox partner asks whether a fault fires, and every event asks for webhook faults.
Reading the two tables each time took a fifth of the event loop under load, so each process holds what
it read for ``FRESH_SECONDS``, and when that lapses one read refreshes it for every call waiting (32
calls at once opening 32 connections churned the pool). A change made through this process is seen at
once (it forgets what it held); other processes sharing the database see it within ``FRESH_SECONDS``.
Rules limited by ``times`` are still counted in the database, so processes share the count exactly.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.clock import Clock
from linq_server.domain.faults import FaultRule, WebhookFaults, check_rule_count, matches, rule_from_json
from linq_server.store import faults as store
from linq_server.store.database import Database

FRESH_SECONDS = 1.0


@dataclass(frozen=True)
class PartnerFaults:
    rules: list[tuple[str, FaultRule, int | None]]  # stored id, rule, uses left when read (None: unlimited)
    webhooks: WebhookFaults
    read_at: float


class SandboxFaults:
    def __init__(self, db: Database, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db, self.clock, self._monotonic = db, clock, monotonic
        self._held: dict[str, PartnerFaults] = {}
        self._reading: dict[str, asyncio.Future[PartnerFaults]] = {}

    async def put(
        self, partner_id: str, rules: list[FaultRule], webhooks: WebhookFaults
    ) -> tuple[list[tuple[FaultRule, int | None]], WebhookFaults]:
        """Replace the partner's faults; rules apply in order, the first that fires wins."""
        check_rule_count(rules)
        async with self.db.write() as conn:
            await store.replace_faults(
                self.db, conn, partner_id, [r.as_json() for r in rules], webhooks.as_json(), self.clock.now()
            )
        self.forget(partner_id)
        return [(rule, rule.times) for rule in rules], webhooks

    async def get(self, partner_id: str) -> tuple[list[tuple[FaultRule, int | None]], WebhookFaults]:
        """The partner's rules, each with the number of failures it has left (None: unlimited), and webhook faults."""
        async with self.db.read() as conn:
            held = await self._read(conn, partner_id)
        return [(rule, remaining) for _, rule, remaining in held.rules], held.webhooks

    async def clear(self, partner_id: str) -> None:
        async with self.db.write() as conn:
            await store.clear_faults(conn, partner_id)
        self.forget(partner_id)

    def forget(self, partner_id: str) -> None:
        """Drop what this process holds for the partner (after its faults changed, or its sandbox was reset)."""
        self._held.pop(partner_id, None)
        self._reading.pop(partner_id, None)  # a read under way may predate the change: later calls read again

    async def for_call(
        self, partner_id: str, method: str, path: str, roll: Callable[[], float] = random.random
    ) -> FaultRule | None:
        """The rule that fires for this call, if any: the first matching one that wins its probability roll
        and has uses left (a use is counted atomically, so processes sharing a database share the count)."""
        held = self._fresh(partner_id) or await self._refresh(partner_id)
        for rule_id, rule, remaining in held.rules:
            if not matches(rule, method, path) or remaining == 0 or roll() >= rule.probability:
                continue
            if remaining is None:
                return rule
            async with self.db.write() as conn:
                if await store.take_one(conn, rule_id):
                    return rule
        return None

    async def webhooks_of(self, conn: AsyncConnection, partner_id: str) -> WebhookFaults:
        """The partner's webhook faults, read on ``conn`` (the emitter's transaction) when not held."""
        held = self._fresh(partner_id)
        if held is None:
            held = self._held[partner_id] = await self._read(conn, partner_id)
        return held.webhooks

    def _fresh(self, partner_id: str) -> PartnerFaults | None:
        held = self._held.get(partner_id)
        return held if held is not None and self._monotonic() - held.read_at < FRESH_SECONDS else None

    async def _refresh(self, partner_id: str) -> PartnerFaults:
        """Read the partner's faults once for every call that finds them stale at the same time."""
        reading = self._reading.get(partner_id)
        if reading is None:
            reading = self._reading[partner_id] = asyncio.ensure_future(self._read_alone(partner_id))
            reading.add_done_callback(lambda done: self._keep(partner_id, done))
        return await asyncio.shield(reading)

    def _keep(self, partner_id: str, done: asyncio.Future[PartnerFaults]) -> None:
        """Hold what a read found, unless the faults changed while it ran (``forget`` dropped it)."""
        if self._reading.get(partner_id) is done:
            del self._reading[partner_id]
            if not done.cancelled() and done.exception() is None:
                self._held[partner_id] = done.result()

    async def _read_alone(self, partner_id: str) -> PartnerFaults:
        async with self.db.read() as conn:
            return await self._read(conn, partner_id)

    async def _read(self, conn: AsyncConnection, partner_id: str) -> PartnerFaults:
        rules = [(r.id, rule_from_json(r.rule), r.remaining) for r in await store.rules_of(conn, partner_id)]
        webhooks = await store.webhook_faults_of(conn, partner_id)
        return PartnerFaults(rules, WebhookFaults(**(webhooks or {})), self._monotonic())
