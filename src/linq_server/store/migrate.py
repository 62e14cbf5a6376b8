"""Alembic upgrade to head, callable from the CLI, the server and tests."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from linq_server.store.availability import is_unavailable
from linq_server.store.database import async_url, ensure_sqlite_folder, is_sqlite
from linq_server.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock that migrating processes take in turn (any fixed 64-bit number).
MIGRATION_LOCK = 0x6C696E715F6D6967


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema. Runs its own event loop: call it from sync code.

    Processes migrating one database at once take turns (see ``one_migration_at_a_time``): the
    first migrates, the others then find the schema at head. A database already at head is left alone
    without loading Alembic, which weighs on ``serve``'s start (docs/benchmarks.md).
    """
    ensure_sqlite_folder(url)
    if _revision(url) == head_revision():
        return
    with _sqlite_file_locked(url):
        if asyncio.run(_create_on_empty(url)):
            return
        upgrade(url)


def upgrade(url: str) -> None:
    """Run the migrations from the database's revision to head (Alembic)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


async def _create_on_empty(url: str) -> bool:
    """On a database with no tables (a first start), create the newest schema in one transaction and record its
    revision, as the migrations would have left it (a test holds the two alike) but without running them one by
    one. False when the database has tables: then the migrations bring it up to date."""
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # The lock the migrations take: processes starting at once take turns, the later ones find tables.
                await connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                await connection.commit()
            try:
                async with connection.begin():
                    if await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()):
                        return False
                    await connection.run_sync(lambda sync: metadata.create_all(sync, checkfirst=False))
                    await connection.execute(sa.text(_VERSION_TABLE))
                    await connection.execute(
                        sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head_revision()}
                    )
                return True
            finally:
                if connection.dialect.name == "postgresql":
                    await connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    await connection.commit()
    finally:
        await engine.dispose()


# Alembic's own version table, as it creates it.
_VERSION_TABLE = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
    " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


def head_revision() -> str:
    """The newest migration's revision: migrations are named ``NNNN_what.py`` with revision ``NNNN``."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _revision(url: str) -> str | None:
    """The revision the database is at; None when it has none yet (or cannot say)."""
    try:
        return asyncio.run(_read_revision(url))
    except Exception as error:
        if is_unavailable(error):
            raise
        return None  # no version table yet: Alembic makes it


async def _read_revision(url: str) -> str | None:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return found.scalar_one_or_none()
    finally:
        await engine.dispose()


@contextmanager
def _sqlite_file_locked(url: str) -> Iterator[None]:
    """Hold an exclusive flock on a SQLite database file (SQLite's own locks are separate fcntl locks)."""
    database = make_url(url).database
    if not is_sqlite(url) or not database or database == ":memory:":
        yield
        return
    with open(database, "ab") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@contextmanager
def one_migration_at_a_time(connection: Connection) -> Iterator[None]:
    """Hold PostgreSQL's migration lock while the block runs (on SQLite, ``migrate`` holds a file lock).

    Servers started together on a fresh database would otherwise all find no ``alembic_version``
    and all create it (UniqueViolation); with the lock, they migrate one after the other.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
    connection.commit()  # a session lock: it outlives this transaction, and Alembic begins its own
    try:
        yield
    finally:
        connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
