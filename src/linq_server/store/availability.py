"""Is an error the database being away? The drivers' answers, in one place."""

from __future__ import annotations

import sqlite3

import asyncpg
import sqlalchemy as sa

# SQLite's operational errors that mean the file cannot be used now, as opposed to a bad statement.
_SQLITE_AWAY = ("disk", "full", "locked", "unable to open", "readonly", "i/o")
_POSTGRESQL_AWAY = (
    asyncpg.PostgresConnectionError,  # refused, lost, "cannot connect now" (starting up, shutting down)
    asyncpg.InterfaceError,  # the connection closed under us
    asyncpg.InternalClientError,  # a connection cut mid-operation, met on its next use
    asyncpg.OperatorInterventionError,  # administrator shutdown, crash recovery
    asyncpg.InsufficientResourcesError,  # disk full, out of memory, too many connections
)


def is_unavailable(error: BaseException) -> bool:
    """Is ``error`` the database (or the network to it) being away, rather than a bad statement or a bug?

    Looks through SQLAlchemy's wrapping and the exception's causes: the driver's own error may be raised
    bare (statements on the driver) or wrapped (through SQLAlchemy).
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OSError, sa.exc.TimeoutError, *_POSTGRESQL_AWAY)):
            return True
        if isinstance(current, sqlite3.OperationalError) and any(word in str(current).lower() for word in _SQLITE_AWAY):
            return True
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False
