"""Settings read from the environment (``LINQ_SERVER_*``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PHONE_NUMBERS = ("+12025550100", "+12025550101")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINQ_SERVER_", extra="ignore")

    database_url: str = "sqlite:///./data/linq.db"
    api_key: str | None = None
    phone_numbers: str = ",".join(DEFAULT_PHONE_NUMBERS)
    log_level: str = "INFO"
    # FastAPI's OpenTelemetry spans and metrics (with a provider configured). Off: asking whether one is
    # configured reads the environment on every request, 4 % of the event loop under load.
    telemetry: bool = False
    data_dir: Path = Path("./data")
    # Sandbox mode allows loopback webhook targets, so local receivers work; production refuses internal ones.
    sandbox: bool = True
    # Where clients reach this server (``serve`` defaults it to http://HOST:PORT); its ``/relay/…`` URLs are
    # the one loopback target production mode allows, since the server delivers to its own relay.
    public_url: str | None = None
    secret_key: str | None = None
    job_lease_seconds: float = 60.0
    worker_concurrency: int = 64
    # The sandbox carrier: handle overrides file (JSON or YAML), and how long group operations take.
    sandbox_handles: Path | None = None
    carrier_delay_ms: int = 20
    # Attachment bytes: unset = a directory under data_dir; file:///path; s3://bucket/prefix?endpoint=...
    storage_url: str | None = None
    # Messages per rolling minute per (line, recipient): Linq's documented limit; raise it for load tests.
    messages_per_minute: int = 30
    # "manual": time stands still until POST /sandbox/clock/advance moves it (sandbox only).
    clock: Literal["real", "manual"] = "real"
    # The key of POST /sandbox/partners; that route is refused while it is unset.
    admin_key: str | None = None
    # A YAML file of partners, lines, handles, chats and subscriptions, applied (idempotently) at start.
    seed: Path | None = None

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def sandbox_phone_numbers(self) -> list[str]:
        return [number.strip() for number in self.phone_numbers.split(",") if number.strip()]


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret stored at ``path``, made with ``make`` and written owner-only the first time.

    Safe against processes starting at once (``serve --workers``): the secret is written whole to a file of
    its own, then linked into place, which fails if another process got there first; then its secret is read.
    No process can read a file that is still being written, and all of them end with the same secret.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # owner-only, as mkstemp makes it
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(draft)
    return secret
