"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database, migrated to head."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from linq_server.store.migrate import upgrade

POSTGRES_URL = os.environ.get("LINQ_SERVER_TEST_POSTGRES_URL")


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


class DatabaseFactory:
    """Makes migrated databases cheaply: one template is migrated, every database copies it.

    The template runs every migration (not the first start's shortcut), so the suite runs on what an upgrade
    builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[str] = []
        # Each DROP DATABASE waits for a checkpoint (~0.8 s here): a test's own database is dropped in the
        # background while the next tests run, instead of hundreds in a row at the end.
        self._dropper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-database")
        self.template = self._new_name()
        if POSTGRES_URL:
            asyncio.run(_pg(POSTGRES_URL, f'CREATE DATABASE "{self.template}"'))
            upgrade(self._pg_url(self.template))
        else:
            upgrade(self._sqlite_url(self.template))

    def _new_name(self) -> str:
        return f"linq_test_{uuid.uuid4().hex[:12]}"

    def _pg_url(self, name: str) -> str:
        assert POSTGRES_URL
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def _sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"

    def new(self) -> str:
        name = self._new_name()
        self.created.append(name)
        if POSTGRES_URL:
            asyncio.run(_pg(POSTGRES_URL, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            return self._pg_url(name)
        shutil.copy(self.folder / f"{self.template}.db", self.folder / f"{name}.db")
        return self._sqlite_url(name)

    def empty(self) -> str:
        """A database with no schema at all (what a first start meets)."""
        name = self._new_name()
        self.created.append(name)
        if POSTGRES_URL:
            asyncio.run(_pg(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
            return self._pg_url(name)
        return self._sqlite_url(name)

    def release(self, url: str) -> None:
        """The test that used ``url`` is over: drop its database soon, in the background."""
        name = make_url(url).database
        if POSTGRES_URL and name in self.created:
            self.created.remove(name)
            self._dropper.submit(asyncio.run, _pg(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_all(self) -> None:
        self._dropper.shutdown(wait=True)
        if POSTGRES_URL:
            asyncio.run(_drop_all(POSTGRES_URL, [*self.created, self.template]))


async def _drop_all(url: str, names: list[str]) -> None:
    """Drops side by side: concurrent ones share checkpoints."""
    at_once = asyncio.Semaphore(10)

    async def drop(name: str) -> None:
        async with at_once:
            await _pg(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    await asyncio.gather(*(drop(name) for name in names))
