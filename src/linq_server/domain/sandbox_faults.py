"""Setting a partner's faults, and applying them to its API calls (webhook faults: ``webhook_faults.py``)."""

from __future__ import annotations

import random
from collections.abc import Callable

from linq_server.domain.context import DomainContext
from linq_server.domain.faults import FaultRule, WebhookFaults, check_rule_count, matches, rule_from_json
from linq_server.store import faults as store


async def put_faults(
    ctx: DomainContext, partner_id: str, rules: list[FaultRule], webhooks: WebhookFaults
) -> tuple[list[tuple[FaultRule, int | None]], WebhookFaults]:
    """Replace the partner's faults; rules apply in order, the first that fires wins."""
    check_rule_count(rules)
    async with ctx.db.write() as conn:
        await store.replace_faults(
            ctx.db, conn, partner_id, [r.as_json() for r in rules], webhooks.as_json(), ctx.clock.now()
        )
    return [(rule, rule.times) for rule in rules], webhooks


async def get_faults(ctx: DomainContext, partner_id: str) -> tuple[list[tuple[FaultRule, int | None]], WebhookFaults]:
    """The partner's rules, each with the number of failures it has left (None: unlimited), and webhook faults."""
    async with ctx.db.read() as conn:
        rules = await store.rules_of(conn, partner_id)
        webhooks = await store.webhook_faults_of(conn, partner_id)
    return [(rule_from_json(r.rule), r.remaining) for r in rules], WebhookFaults(**(webhooks or {}))


async def clear_faults(ctx: DomainContext, partner_id: str) -> None:
    async with ctx.db.write() as conn:
        await store.clear_faults(conn, partner_id)


async def fault_for_call(
    ctx: DomainContext, partner_id: str, method: str, path: str, roll: Callable[[], float] = random.random
) -> FaultRule | None:
    """The rule that fires for this call, if any: the first matching one that wins its probability roll
    and has uses left (a use is counted atomically, so processes sharing a database share the count)."""
    async with ctx.db.read() as conn:
        stored = await store.rules_of(conn, partner_id)
    for entry in stored:
        rule = rule_from_json(entry.rule)
        if not matches(rule, method, path) or entry.remaining == 0 or roll() >= rule.probability:
            continue
        if entry.remaining is None:
            return rule
        async with ctx.db.write() as conn:
            if await store.take_one(conn, entry.id):
                return rule
    return None
