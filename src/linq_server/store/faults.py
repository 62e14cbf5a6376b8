"""The sandbox's fault rules and webhook faults, per partner: in the database, so every API process agrees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.database import Database
from linq_server.store.schema import sandbox_fault_rules, sandbox_faults


@dataclass(frozen=True, slots=True)
class StoredRule:
    id: str
    rule: dict[str, Any]
    remaining: int | None


async def replace_faults(
    db: Database,
    conn: AsyncConnection,
    partner_id: str,
    rules: list[dict[str, Any]],
    webhooks: dict[str, Any],
    now: datetime,
) -> None:
    """Make ``rules`` (in order, each counting down its ``times``) and ``webhooks`` the partner's faults."""
    await conn.execute(sandbox_fault_rules.delete().where(sandbox_fault_rules.c.partner_id == partner_id))
    if rules:
        await conn.execute(
            sandbox_fault_rules.insert(),
            [
                {"id": str(uuid.uuid4()), "partner_id": partner_id, "position": position, "rule": rule,
                 "remaining": rule.get("times")}
                for position, rule in enumerate(rules)
            ],
        )  # fmt: skip
    values = {"partner_id": partner_id, "webhooks": webhooks, "updated_at": now}
    await conn.execute(db.upsert(sandbox_faults, values, ["partner_id"]))


async def clear_faults(conn: AsyncConnection, partner_id: str) -> None:
    await conn.execute(sandbox_fault_rules.delete().where(sandbox_fault_rules.c.partner_id == partner_id))
    await conn.execute(sandbox_faults.delete().where(sandbox_faults.c.partner_id == partner_id))


async def rules_of(conn: AsyncConnection, partner_id: str) -> list[StoredRule]:
    query = (
        sa.select(sandbox_fault_rules.c.id, sandbox_fault_rules.c.rule, sandbox_fault_rules.c.remaining)
        .where(sandbox_fault_rules.c.partner_id == partner_id)
        .order_by(sandbox_fault_rules.c.position)
    )
    return [StoredRule(row.id, dict(row.rule), row.remaining) for row in await conn.execute(query)]


async def webhook_faults_of(conn: AsyncConnection, partner_id: str) -> dict[str, Any] | None:
    query = sa.select(sandbox_faults.c.webhooks).where(sandbox_faults.c.partner_id == partner_id)
    found = (await conn.execute(query)).scalar()
    return dict(found) if found is not None else None


async def take_one(conn: AsyncConnection, rule_id: str) -> bool:
    """Count one use of a rule limited by ``times``; False when it was used up (by this or another process)."""
    result = await conn.execute(
        sandbox_fault_rules.update()
        .where(sandbox_fault_rules.c.id == rule_id, sandbox_fault_rules.c.remaining > 0)
        .values(remaining=sandbox_fault_rules.c.remaining - 1)
    )
    return int(result.rowcount) == 1
