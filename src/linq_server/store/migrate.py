"""Alembic upgrade to head, callable from the CLI, the server and tests."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url

from linq_server.store.database import ensure_sqlite_folder, is_sqlite

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock that migrating processes take in turn (any fixed 64-bit number).
MIGRATION_LOCK = 0x6C696E715F6D6967


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema. Runs its own event loop: call it from sync code.

    Processes migrating one database at once take turns (see ``one_migration_at_a_time``): the
    first migrates, the others then find the schema at head.
    """
    ensure_sqlite_folder(url)
    with _sqlite_file_locked(url):
        command.upgrade(alembic_config(url), "head")


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
