"""The Alembic migrations produce exactly the tables the code describes."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Barrier

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from linq_server.store.database import Database
from linq_server.store.migrate import alembic_config, head_revision, migrate
from linq_server.store.schema import metadata
from tests.support.databases import DatabaseFactory


async def test_migrations_match_the_schema(db: Database) -> None:
    async with db.read() as conn:
        differences = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert differences == []


def _migrate_after(barrier: Barrier, url: str) -> None:
    barrier.wait()
    migrate(url)


def test_four_processes_migrating_a_fresh_database_at_once_all_succeed(databases: DatabaseFactory) -> None:
    url = databases.empty()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_migrate_after, args=(barrier, url)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert asyncio.run(_version(url)) == ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_the_head_read_from_file_names_is_alembics_head(database_url: str) -> None:
    # migrate() skips Alembic for a database at this head: it must be the one Alembic would reach.
    assert head_revision() == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def _version(url: str) -> str | None:
    db = Database(url)
    try:
        async with db.read() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await db.close()
