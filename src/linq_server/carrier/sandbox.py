"""The sandbox carrier: a deterministic world of simulated devices.

What a handle can receive, unless overridden:
* an email address (an Apple ID): iMessage only;
* a phone number, by its last digit: 0-5 an iPhone (iMessage, RCS, SMS), 6-8 an Android phone
  (RCS, SMS), 9 a basic phone (SMS only).

Overrides come from a JSON or YAML file (``LINQ_SERVER_SANDBOX_HANDLES``; an entry may also hold the
device's ``replies``) for every partner, and from
``PUT /sandbox/handles/{handle}`` for one partner (those win). An override may also list operations
that must fail for that handle (``add``, ``remove``; on your own line ``leave``, ``rename``,
``set_icon``), so tests can see the failure paths. Group operations take effect after a small delay
(``LINQ_SERVER_CARRIER_DELAY_MS``) on the server's clock: ``accept`` says when, and the caller's
durable job comes back to ``settle`` them then, so the asynchronous flow is real and a manual clock
steps it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.carrier.base import SERVICE_ORDER, GroupOperation
from linq_server.domain.device_replies import Reply, check_replies
from linq_server.domain.errors import InvalidParameterValue
from linq_server.store import sandbox_handles as override_store
from linq_server.store.database import Database

IPHONE = frozenset({"iMessage", "RCS", "SMS"})
ANDROID = frozenset({"RCS", "SMS"})
BASIC_PHONE = frozenset({"SMS"})
APPLE_ID = frozenset({"iMessage"})


def default_services(handle: str) -> frozenset[str]:
    if "@" in handle:
        return APPLE_ID
    last = handle[-1]
    if last in "012345":
        return IPHONE
    return ANDROID if last in "678" else BASIC_PHONE


def _read_handles_file(path: Path) -> dict[Any, Any]:
    text = path.read_text()
    raw: Any = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    return raw or {}


def load_handles_file(path: Path | None) -> dict[str, frozenset[str]]:
    """``{handle: {"services": [...]}}`` or ``{handle: [...]}``, in JSON or YAML."""
    if path is None:
        return {}
    overrides: dict[str, frozenset[str]] = {}
    for handle, entry in _read_handles_file(path).items():
        if isinstance(entry, dict) and "services" not in entry:
            continue  # an entry of replies only: the handle keeps its default services
        services = entry["services"] if isinstance(entry, dict) else entry
        unknown = set(services) - set(SERVICE_ORDER)
        if unknown:
            raise ValueError(f"{path}: unknown services for {handle}: {sorted(unknown)}")
        overrides[str(handle)] = frozenset(services)
    return overrides


def load_file_replies(path: Path | None) -> dict[str, tuple[Reply, ...]]:
    """The ``replies`` of each handle in the file (``{handle: {"services": [...], "replies": [...]}}``)."""
    if path is None:
        return {}
    replies: dict[str, tuple[Reply, ...]] = {}
    for handle, entry in _read_handles_file(path).items():
        if isinstance(entry, dict) and entry.get("replies") is not None:
            try:
                replies[str(handle)] = check_replies(entry["replies"])
            except InvalidParameterValue as error:
                raise ValueError(f"{path}: {handle}: {error.message}") from error
    return replies


class SandboxCarrier:
    def __init__(
        self,
        db: Database,
        *,
        delay_seconds: float,
        file_overrides: dict[str, frozenset[str]],
        file_replies: dict[str, tuple[Reply, ...]] | None = None,
    ) -> None:
        self.db = db
        self.delay_seconds = delay_seconds
        self.file_overrides = file_overrides
        self.file_replies = file_replies or {}

    def default_replies(self, handle: str) -> tuple[Reply, ...]:
        return self.file_replies.get(handle, ())

    async def reachability(
        self, partner_id: str, handles: list[str], conn: AsyncConnection | None = None
    ) -> dict[str, frozenset[str]]:
        if conn is None:
            async with self.db.read() as reading:
                return await self.reachability(partner_id, handles, reading)
        overrides = await override_store.handle_overrides(conn, partner_id, handles)
        return {handle: self.services_of(handle, overrides.get(handle)) for handle in handles}

    def services_of(self, handle: str, override: Mapping[str, Any] | None) -> frozenset[str]:
        """The partner's override, else the handles file, else the default for the kind of handle."""
        if override is not None:
            return frozenset(override["services"])
        return self.file_overrides.get(handle) or default_services(handle)

    def accept(self, operations: list[GroupOperation]) -> list[float]:
        return [self.delay_seconds for _ in operations]

    async def settle(self, operations: list[GroupOperation]) -> list[str | None]:
        """Every operation succeeds unless the handle concerned has it among its ``failing_operations``."""
        failing: dict[tuple[str, str], list[str]] = {}
        async with self.db.read() as conn:
            for partner_id in {op.partner_id for op in operations}:
                handles = sorted({op.handle for op in operations if op.partner_id == partner_id})
                for handle, override in (await override_store.handle_overrides(conn, partner_id, handles)).items():
                    failing[(partner_id, handle)] = list(override["failing_operations"])
        return [
            f"The sandbox network refused to {op.kind.operation.replace('_', ' ')} for {op.handle}"
            if op.kind.operation in failing.get((op.partner_id, op.handle), [])
            else None
            for op in operations
        ]
