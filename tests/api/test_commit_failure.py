"""A 202 is answered only after its commit: make the commit itself fail, after every rule has passed, and the
client gets the error, not a 202, and nothing is queued."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.api.test_errors import assert_envelope
from tests.api.test_hardening import TEXT, group
from tests.conftest import World
from tests.support.phones import new_phone

_SQLITE_REFUSAL = "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'commit refused'); END"
# On PostgreSQL a deferred constraint trigger runs at COMMIT: the commit itself fails.
_POSTGRESQL_REFUSAL = (
    "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'commit refused'; END $$",
    "CREATE CONSTRAINT TRIGGER refuse_jobs AFTER INSERT ON jobs DEFERRABLE INITIALLY DEFERRED"
    " FOR EACH ROW EXECUTE FUNCTION refuse_commit()",
)


async def _refuse_commits(world: World) -> None:
    async with world.services.db.write() as conn:
        for statement in (_SQLITE_REFUSAL,) if world.services.db.sqlite else _POSTGRESQL_REFUSAL:
            await conn.execute(sa.text(statement))


async def _allow_commits(world: World) -> None:
    async with world.services.db.write() as conn:
        await conn.execute(sa.text("DROP TRIGGER refuse_jobs" + ("" if world.services.db.sqlite else " ON jobs")))


async def _count(world: World, sql: str, chat_id: str) -> int:
    async with world.services.db.read() as conn:
        return int((await conn.execute(sa.text(sql), {"chat": chat_id})).scalar_one())


async def test_an_add_whose_commit_fails_is_not_answered_202_and_queues_nothing(world: World) -> None:
    chat_id = await group(world)
    await _refuse_commits(world)
    handle = new_phone(1)

    response = await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": handle})

    assert_envelope(response, 500, 3006)
    assert await _count(world, "SELECT count(*) FROM chat_changes WHERE chat_id = :chat", chat_id) == 0
    await _allow_commits(world)
    # The rules had passed: the same add, once commits work, is accepted.
    retried = await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": handle})
    assert retried.status_code == 202, retried.text
    assert await _count(world, "SELECT count(*) FROM chat_changes WHERE chat_id = :chat", chat_id) == 1


async def test_a_send_whose_commit_fails_is_not_answered_202_and_records_nothing(world: World) -> None:
    chat_id = await group(world)
    before = await _count(world, "SELECT count(*) FROM messages WHERE chat_id = :chat", chat_id)
    await _refuse_commits(world)

    response = await world.http.post(f"/v3/chats/{chat_id}/messages", json={"message": TEXT})

    assert_envelope(response, 500, 3006)
    assert await _count(world, "SELECT count(*) FROM messages WHERE chat_id = :chat", chat_id) == before
    await _allow_commits(world)
    retried = await world.http.post(f"/v3/chats/{chat_id}/messages", json={"message": TEXT})
    assert retried.status_code == 202, retried.text


async def test_a_full_disk_refuses_writes_with_503_and_reads_go_on(world: World) -> None:
    if not world.services.db.sqlite:
        pytest.skip("SQLite's own page limit stands in for a full disk")
    chats = [await group(world) for _ in range(4)]
    async with world.services.db.write() as conn:
        # The writer connection (one, reused) may not grow the file any more: SQLite answers SQLITE_FULL.
        pages = (await conn.execute(sa.text("PRAGMA page_count"))).scalar_one()
        await conn.execute(sa.text(f"PRAGMA max_page_count = {pages}"))
    statuses = [
        (await world.http.post(f"/v3/chats/{chat_id}/participants", json={"handle": new_phone(1)})).status_code
        for chat_id in chats
        for _ in range(28)
    ]
    assert set(statuses) == {202, 503} and statuses[-1] == 503, statuses  # free pages fill, then nothing fits
    refused = await world.http.post(f"/v3/chats/{chats[0]}/participants", json={"handle": new_phone(1)})
    assert_envelope(refused, 503, 3001)
    assert refused.headers["retry-after"] == "5"
    assert (await world.http.get(f"/v3/chats/{chats[0]}")).status_code == 200  # reads go on
