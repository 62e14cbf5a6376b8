"""Alembic upgrade to head, callable from the CLI, the server and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from linq_server.store.database import ensure_sqlite_folder

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema. Runs its own event loop: call it from sync code."""
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), "head")
