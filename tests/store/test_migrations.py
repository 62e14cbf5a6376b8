"""The Alembic migrations produce exactly the tables the code describes."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Barrier

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from linq_server.store.database import Database, async_url
from linq_server.store.migrate import alembic_config, head_revision, migrate, upgrade
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


def _schema_of(url: str) -> dict[str, object]:
    """Every table's columns, keys, indexes and unique constraints, as the database reports them."""

    def read(sync: sa.Connection) -> dict[str, object]:
        inspector = sa.inspect(sync)
        schema: dict[str, object] = {}
        for table in inspector.get_table_names():
            columns = [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in inspector.get_columns(table)
            ]
            keys = [
                (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"], sorted(fk["options"].items()))
                for fk in inspector.get_foreign_keys(table)
            ]
            indexes = [(i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)]
            unique = [u["column_names"] for u in inspector.get_unique_constraints(table)]
            schema[table] = (
                sorted(columns), inspector.get_pk_constraint(table)["constrained_columns"], sorted(map(str, keys)),
                sorted(map(str, indexes)), sorted(map(str, unique)),
            )  # fmt: skip
        return schema

    async def inspect() -> dict[str, object]:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(inspect())


def test_a_first_start_builds_the_schema_the_migrations_build(databases: DatabaseFactory) -> None:
    first_start, upgraded = databases.empty(), databases.empty()
    migrate(first_start)  # an empty database: the schema made at once
    upgrade(upgraded)  # every migration, one by one
    assert _schema_of(first_start) == _schema_of(upgraded)
    assert asyncio.run(_version(first_start)) == head_revision()
