"""The database handle. Every SQLite/PostgreSQL difference lives in this module.

* SQLite: WAL mode, foreign keys on, a busy timeout; reads use a pool, while every write
  transaction goes through ONE connection that starts with ``BEGIN IMMEDIATE`` (the single
  writer), so concurrent writers queue instead of failing with "database is locked".
* SQLite statements run on the event loop's own thread (they take microseconds); only the steps
  that can wait go to the connection's thread: BEGIN IMMEDIATE (another process may hold the
  write lock) and COMMIT (the fsync that makes a 202 durable). aiosqlite would hop to its thread
  and back for every call, four per statement, and that hopping was most of the server's CPU.
* PostgreSQL: one asyncpg pool for reads and writes; row locks (``FOR UPDATE``) serialise
  conflicting writers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from linq_server.outage import Outage

log = logging.getLogger("linq_server.store")

_TRANSACTION = "linq_transaction"
# Statements each PostgreSQL connection keeps prepared. asyncpg's default, 100, is fewer than the server's
# distinct statements (lists of ids of every length among them), and an evicted one costs a round trip and
# a parse when it comes back: 500 took a tenth off the CPU of a send's request.
PREPARED_STATEMENTS = 500
# How often a LISTEN connection is looked at, besides being told when it closes.
LISTENER_CHECK_SECONDS = 5.0


@dataclass
class _Transaction:
    """What a write transaction carries besides its SQL: work to do after commit."""

    after_commit: list[Callable[[], None]] = field(default_factory=list)
    notified: set[str] = field(default_factory=set)


_Statement = TypeVar("_Statement")


def _transaction(connection: AsyncConnection) -> _Transaction:
    state: _Transaction = connection.info[_TRANSACTION]
    return state


_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
_POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


def async_url(url: str) -> str:
    """Turn a user-facing URL (``sqlite:///…``, ``postgresql://…``) into its async-driver form."""
    parsed = make_url(url)
    if parsed.drivername in _SQLITE_SCHEMES:
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in _POSTGRESQL_SCHEMES:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def is_sqlite(url: str) -> bool:
    return make_url(url).drivername.startswith("sqlite")


def url_problem(url: str) -> str | None:
    """What is wrong with a database URL before anything is opened or created, in one line; None if nothing."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return f"{url!r} is not a database URL: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    scheme = parsed.drivername
    if scheme not in (*_SQLITE_SCHEMES, *_POSTGRESQL_SCHEMES):
        return f"unsupported database {scheme!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    if is_sqlite(url) and (parsed.host or not parsed.database):
        return (
            f"{url!r} is not a SQLite file URL: a relative path is sqlite:///data/linq.db (three slashes), "
            "an absolute one sqlite:////var/lib/linq.db (four)"
        )
    if is_sqlite(url) and parsed.database != ":memory:":
        try:
            ensure_sqlite_folder(url)
        except OSError as error:
            return f"cannot make the folder of {parsed.database}: {error.strerror or error}"
    return None


def unreachable(url: str, error: BaseException) -> str:
    """One line on a database that could not be reached: where, and the innermost cause."""
    cause = error
    while (deeper := cause.__cause__ or getattr(cause, "orig", None)) is not None and deeper is not cause:
        cause = deeper
    parsed = make_url(url)
    if is_sqlite(url):
        return f"cannot open the SQLite database {parsed.database}: {cause}"
    return f"cannot reach PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}: {cause}"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a file-backed SQLite database."""
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


class _InlineSqlite(aiosqlite.Connection):
    """An aiosqlite connection whose calls run inline, except those that may wait (see the module doc)."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if name == "commit" or (name == "execute" and args and str(args[0]).startswith("BEGIN IMMEDIATE")):
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]  # aiosqlite is untyped
        return fn(*args, **kwargs)


def _sqlite_connector(url: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    database = make_url(url).database or ":memory:"

    async def connect() -> aiosqlite.Connection:
        # Used from the loop's thread and the connection's own thread in turn, never at once.
        connection = _InlineSqlite(partial(sqlite3.connect, database, check_same_thread=False), 64)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection must not hold up exit
        return await connection

    return connect


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # The writer syncs every commit: a 202 must survive a power cut, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL" if immediate else "PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _Listener:
    """A LISTEN connection that comes back by itself after the database restarts or the network drops."""

    def __init__(
        self, dsn: str, callbacks: dict[str, Callable[[str], None]], on_reconnect: Callable[[], None] | None
    ) -> None:
        self._dsn = dsn
        self._callbacks = callbacks
        self._on_reconnect = on_reconnect
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._outage = Outage("listening for notifications", log)

    async def start(self) -> None:
        try:
            await self._connect()
        except Exception as error:
            self._outage.failed(error)  # the keeper tries again
        self._keeper = asyncio.create_task(self._keep())

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        for channel, callback in self._callbacks.items():
            await connection.add_listener(channel, lambda *args, call=callback: call(str(args[3])))
        connection.add_termination_listener(lambda _connection: self._lost.set())
        self._lost.clear()
        self._connection = connection

    async def _keep(self) -> None:
        while True:
            if self._connection is not None and not self._connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LISTENER_CHECK_SECONDS):
                        await self._lost.wait()
                continue
            try:
                await self._connect()
            except Exception as error:
                await self._outage.pause(error)
                continue
            self._outage.recovered()
            if self._on_reconnect:
                self._on_reconnect()

    async def close(self) -> None:
        if self._keeper:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()


class Database:
    """Owns the engines; hands out read and write transactions.

    Connections are only ever used inside ``begin()`` blocks, which always end in a commit or a
    rollback, so the pool's extra rollback on return is switched off (a round trip saved per use).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._built: dict[object, object] = {}
        driver_url = async_url(url)
        if self.sqlite:
            ensure_sqlite_folder(url)
            connect = _sqlite_connector(url)
            self._reader = create_async_engine(
                driver_url, poolclass=AsyncAdaptedQueuePool, pool_size=4, max_overflow=0, async_creator=connect
            )
            self._writer = create_async_engine(
                driver_url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=60,
                async_creator=connect,
            )  # fmt: skip
            _configure_sqlite(self._reader, immediate=False)
            _configure_sqlite(self._writer, immediate=True)
        else:
            self._reader = create_async_engine(
                driver_url, pool_size=pool_size, max_overflow=pool_size, pool_reset_on_return=None,
                connect_args={"prepared_statement_cache_size": PREPARED_STATEMENTS},
            )  # fmt: skip
            self._writer = self._reader

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot)."""
        async with self._reader.begin() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; committed when the block ends without an exception.

        Callbacks registered with ``after_commit`` run once the commit has succeeded.
        """
        state = _Transaction()
        async with self._writer.begin() as connection:
            connection.info[_TRANSACTION] = state
            try:
                yield connection
            finally:
                connection.info.pop(_TRANSACTION, None)
        for callback in state.after_commit:
            callback()

    @staticmethod
    def after_commit(connection: AsyncConnection, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the write transaction of ``connection`` commits (never if it rolls back)."""
        callbacks = _transaction(connection).after_commit
        if callback not in callbacks:
            callbacks.append(callback)

    async def notify(self, connection: AsyncConnection, channel: str) -> None:
        """Tell other processes something changed, at commit (PostgreSQL NOTIFY; SQLite has no peers to tell)."""
        notified = _transaction(connection).notified
        if not self.sqlite and channel not in notified:
            notified.add(channel)
            await connection.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": channel})

    async def listen(
        self, channel: str, callback: Callable[[], None], *, on_reconnect: Callable[[], None] | None = None
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback`` whenever another process notifies ``channel``; returns a closer (None on SQLite)."""
        return await self.listen_messages({channel: lambda _payload: callback()}, on_reconnect=on_reconnect)

    async def listen_messages(
        self, callbacks: dict[str, Callable[[str], None]], *, on_reconnect: Callable[[], None] | None = None
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callbacks[channel](payload)`` for every notification on those channels, from any process
        (this one included); one connection for all of them, made again whenever it is lost (a database
        restart), after which ``on_reconnect`` runs: notifications sent meanwhile were missed. Returns a
        closer (None on SQLite)."""
        if self.sqlite:
            return None
        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        listener = _Listener(dsn, callbacks, on_reconnect)
        await listener.start()
        return listener.close

    async def publish(self, channel: str, payload: str) -> None:
        """Send ``payload`` (at most 8000 bytes) to every listener of ``channel`` now, outside any transaction.

        PostgreSQL only: SQLite has a single API process, which has no peers to tell.
        """
        if self.sqlite:
            return
        async with self._writer.begin() as connection:
            await connection.execute(
                sa.text("SELECT pg_notify(:channel, :body)"),
                {"channel": channel, "body": payload},
            )

    def built(self, make: Callable[[Database], _Statement]) -> _Statement:
        """The statement ``make`` builds for this database, built on first use and kept.

        Hot statements are built once with bind parameters: building one and computing its cache key on
        every call cost more CPU than running it (the job claim: 0.51 ms a call built each time, 0.17 ms
        built once, on PostgreSQL)."""
        statement = self._built.get(make)
        if statement is None:
            statement = self._built[make] = make(self)
        return cast(_Statement, statement)

    def for_update(self, statement: sa.Select[Any], of: sa.Table | None = None) -> sa.Select[Any]:
        """Lock the selected rows (of ``of`` only, in a join) until commit (PostgreSQL).

        SQLite needs no row locks: its single writer already serialises write transactions.
        """
        return statement if self.sqlite else statement.with_for_update(of=of)

    def upsert(
        self,
        table: sa.Table,
        values: dict[str, Any],
        keys: list[str],
        *,
        update: list[str] | None = None,
        changes: dict[str, Any] | None = None,
        where: sa.ColumnElement[bool] | None = None,
    ) -> Any:
        """INSERT, or UPDATE the row with the same ``keys`` (one atomic statement on both databases).

        The update sets the inserted values named in ``update`` (default: every value that is not a key), or
        ``changes`` (expressions may read the existing row), and only when ``where`` holds for the existing
        row: otherwise nothing changes and the rowcount is 0.
        """
        insert = sqlite_insert if self.sqlite else postgresql_insert
        statement = insert(table).values(**values)
        if changes is None:
            changes = {name: statement.excluded[name] for name in (update or values) if name not in keys}
        return statement.on_conflict_do_update(index_elements=keys, set_=changes, where=where)

    def insert_or_ignore(self, table: sa.Table, keys: list[str]) -> Any:
        """INSERT, skipping a row whose ``keys`` already exist (waits for a concurrent insert of the same keys).

        Execute it with the rows as parameters: one statement text however many rows (prepared once)."""
        insert = sqlite_insert if self.sqlite else postgresql_insert
        return insert(table).on_conflict_do_nothing(index_elements=keys)

    async def ping(self) -> bool:
        """Can the database answer? Twice: after a restart, the first use of a pooled connection fails and
        empties the pool, and the second gets a fresh connection."""
        for _try in range(2):
            try:
                async with self._reader.connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
            except Exception:
                continue
            return True
        return False

    async def close(self) -> None:
        await self._reader.dispose()
        if self._writer is not self._reader:
            await self._writer.dispose()
