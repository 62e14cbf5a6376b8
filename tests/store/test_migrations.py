"""The Alembic migrations produce exactly the tables the code describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from linq_server.store.database import Database
from linq_server.store.schema import metadata


async def test_migrations_match_the_schema(db: Database) -> None:
    async with db.read() as conn:
        differences = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert differences == []
