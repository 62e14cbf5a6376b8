"""What each process holds of a partner's faults: its own changes at once, another process's within a second."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from linq_server.clock import ManualClock
from linq_server.domain.faults import FaultRule, WebhookFaults, check_rule
from linq_server.domain.sandbox_faults import FRESH_SECONDS, SandboxFaults
from linq_server.store.database import Database
from tests.conftest import make_partner

PATH = "/api/partner/v3/phone_numbers"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def unavailable(times: int | None = None) -> list[FaultRule]:
    rule = check_rule(
        method="GET", path="/v3/phone_numbers", status=503, code=None, message=None, probability=1.0,
        times=times, latency_ms=None, retry_after=None,
    )  # fmt: skip
    return [rule]


async def test_a_process_sees_its_own_change_at_once_and_anothers_within_a_second(db: Database) -> None:
    partner = await make_partner(db)
    ticks = Ticks()
    here, there = SandboxFaults(db, ManualClock(), ticks), SandboxFaults(db, ManualClock(), ticks)
    assert await here.for_call(partner.id, "GET", PATH) is None  # both have read "no faults"
    assert await there.for_call(partner.id, "GET", PATH) is None

    await here.put(partner.id, unavailable(), WebhookFaults(duplicate=1.0))
    assert (await here.for_call(partner.id, "GET", PATH)).status == 503  # type: ignore[union-attr]
    assert await there.for_call(partner.id, "GET", PATH) is None  # still what it read a moment ago
    ticks.now += FRESH_SECONDS
    assert (await there.for_call(partner.id, "GET", PATH)).status == 503  # type: ignore[union-attr]

    await here.clear(partner.id)
    assert await here.for_call(partner.id, "GET", PATH) is None


async def test_a_limited_rule_is_counted_in_the_database_whatever_each_process_holds(db: Database) -> None:
    partner = await make_partner(db)
    here, there = SandboxFaults(db, ManualClock()), SandboxFaults(db, ManualClock())
    await here.put(partner.id, unavailable(times=2), WebhookFaults())
    hits = [await process.for_call(partner.id, "GET", PATH) for process in (there, here, there, here)]
    assert [hit is not None for hit in hits] == [True, True, False, False]


async def test_calls_finding_the_faults_stale_together_read_them_once(db: Database) -> None:
    partner = await make_partner(db)
    faults = SandboxFaults(db, ManualClock(), Ticks())
    await faults.put(partner.id, unavailable(), WebhookFaults())
    statements: list[str] = []
    event.listen(db._reader.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    hits = await asyncio.gather(*(faults.for_call(partner.id, "GET", PATH) for _ in range(32)))
    assert all(hit is not None and hit.status == 503 for hit in hits)
    assert len([sql for sql in statements if "sandbox_fault_rules" in sql]) == 1


async def test_a_change_made_during_a_read_is_not_hidden_by_that_read(db: Database) -> None:
    partner = await make_partner(db)
    faults = SandboxFaults(db, ManualClock(), Ticks())
    stale = asyncio.ensure_future(faults.for_call(partner.id, "GET", PATH))  # reads "no faults"
    await asyncio.sleep(0)
    await faults.put(partner.id, unavailable(), WebhookFaults())
    await stale
    assert (await faults.for_call(partner.id, "GET", PATH)).status == 503  # type: ignore[union-attr]
