"""Hot statements run straight on the database driver, inside the caller's SQLAlchemy transaction.

The statements that run for every participant change, send, device step and webhook (the job queue,
events, deliveries and attempts, chats, participants and changes, messages and recipients, message
numbers, rate-limit windows, handle overrides) cost more CPU through SQLAlchemy than the statements
themselves: the execution context, the bind and result processors, the greenlet hops (under load, 23 % of
the server's CPU was in SQLAlchemy, py-spy --gil; 8 % once most of these had moved here). Here the SQL is
written once with ``?`` placeholders (numbered ``$n`` for asyncpg), values are encoded as SQLAlchemy
stores them, so rows written either way read alike, and the statement runs on the transaction's own
connection: SQLite's inline (its statements take microseconds; see ``database``), asyncpg's as a
prepared statement.

Only statements whose text is fixed (or made once per set of columns) belong here; the rest stays in
SQLAlchemy Core.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import Timestamp

_DRIVER = "linq_driver"
# SQLAlchemy's storage format for SQLite DATETIME (naive UTC text; the microseconds always written), so
# rows written here and through SQLAlchemy compare and sort alike.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_PLACEHOLDER = re.compile(r"\?")


@cache
def _numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    count = iter(range(1, sql.count("?") + 1))
    return _PLACEHOLDER.sub(lambda _match: f"${next(count)}", sql)


class Driver:
    """The driver connection under a SQLAlchemy connection, with its dialect's value encodings."""

    def __init__(self, adapter: Any, *, sqlite: bool) -> None:
        self._adapter = adapter
        self.sqlite = sqlite
        # aiosqlite's connection wraps the sqlite3 one, whose statements run inline.
        self._raw = adapter.driver_connection._conn if sqlite else adapter.driver_connection

    @staticmethod
    async def of(conn: AsyncConnection) -> Driver:
        """The driver under ``conn`` (kept with the pooled connection, so looked up once per connection)."""
        info = conn.info
        driver: Driver | None = info.get(_DRIVER)
        if driver is None:
            adapter = (await conn.get_raw_connection()).dbapi_connection
            driver = info[_DRIVER] = Driver(adapter, sqlite=conn.dialect.name == "sqlite")
        return driver

    async def _begun(self) -> Any:
        """asyncpg, with the transaction begun: SQLAlchemy sends BEGIN only before its own first statement, and a
        statement sent before that would run, and commit, on its own. (SQLite's BEGIN IMMEDIATE is eager.)"""
        if self._adapter._transaction is None:
            await self._adapter._start_transaction()
        return self._raw

    # Values in.
    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.strftime(_SQLITE_TIME) if self.sqlite else value

    @staticmethod
    def json(value: Any) -> str | None:
        # Both dialects take JSON as text here (SQLAlchemy sets asyncpg's json codec to pass text through).
        return None if value is None else json.dumps(value)

    def value(self, column: sa.Column[Any], value: Any) -> Any:
        """``value`` for ``column``, encoded by the column's type (for statements whose columns vary)."""
        if value is None:
            return None
        if isinstance(column.type, Timestamp):
            return self.time(value)
        if isinstance(column.type, sa.JSON):
            return self.json(value)
        return value

    def ids(self, values: Sequence[str]) -> Any:
        """The parameter for ``in_list()``: a JSON array on SQLite, an array on PostgreSQL."""
        return json.dumps(list(values)) if self.sqlite else list(values)

    def for_update(self, lock: bool, of: str | None = None) -> str:
        """The clause that locks the selected rows until commit (PostgreSQL; SQLite's single writer needs none)."""
        if not lock or self.sqlite:
            return ""
        return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"

    def in_list(self, column: str) -> str:
        """``column`` is one of a list given as one parameter (one statement text whatever the length)."""
        return self.in_list_of(sqlite=self.sqlite, column=column)

    @staticmethod
    def in_list_of(*, sqlite: bool, column: str) -> str:
        """``in_list`` for a statement built before any connection (a module constant)."""
        return f"{column} IN (SELECT value FROM json_each(?))" if sqlite else f"{column} = ANY(?::varchar[])"

    def in_pairs(self, first: str, second: str) -> str:
        """``(first, second)`` is one of a list of pairs given as the parameters ``pairs()`` makes."""
        if self.sqlite:
            pairs = "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"
        else:
            pairs = "SELECT * FROM unnest(?::varchar[], ?::varchar[])"
        return f"({first}, {second}) IN ({pairs})"

    def pairs(self, values: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
        """The parameters for ``in_pairs()``: one JSON array of pairs on SQLite, two arrays on PostgreSQL."""
        if self.sqlite:
            return (json.dumps([list(pair) for pair in values]),)
        return [first for first, _second in values], [second for _first, second in values]

    # Values out.
    def read_time(self, value: Any) -> datetime:
        """A NOT NULL timestamp column's value."""
        if self.sqlite:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        moment: datetime = value
        return moment.astimezone(UTC)

    def read_time_or_none(self, value: Any) -> datetime | None:
        return None if value is None else self.read_time(value)

    def read_json(self, value: Any) -> Any:
        # asyncpg decodes json columns itself (SQLAlchemy's codec); SQLite hands back the text.
        return json.loads(value) if self.sqlite and value is not None else value

    # Statements.
    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        if self.sqlite:
            rows: list[Sequence[Any]] = self._raw.execute(sql, args).fetchall()
            return rows
        found: list[Sequence[Any]] = await (await self._begun()).fetch(_numbered(sql), *args)
        return found

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        if self.sqlite:
            self._raw.execute(sql, args)
        else:
            await (await self._begun()).execute(_numbered(sql), *args)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.sqlite:
            self._raw.executemany(sql, rows)
        else:
            await (await self._begun()).executemany(_numbered(sql), rows)
