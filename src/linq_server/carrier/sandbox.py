"""The sandbox carrier: a deterministic world of simulated devices.

What a handle can receive, unless overridden:
* an email address (an Apple ID): iMessage only;
* a phone number, by its last digit: 0-5 an iPhone (iMessage, RCS, SMS), 6-8 an Android phone
  (RCS, SMS), 9 a basic phone (SMS only).

Overrides come from a JSON or YAML file (``LINQ_SERVER_SANDBOX_HANDLES``) for every partner, and from
``PUT /sandbox/handles/{handle}`` for one partner (those win). An override may also list operations
that must fail for that handle (``add``, ``remove``; on your own line ``leave``, ``rename``,
``set_icon``), so tests can see the failure paths. Every group operation takes effect after a small
delay, so the asynchronous flow is real.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from linq_server.carrier.base import SERVICE_ORDER, CarrierRefused
from linq_server.store import chats as store
from linq_server.store.database import Database

IPHONE = frozenset({"iMessage", "RCS", "SMS"})
ANDROID = frozenset({"RCS", "SMS"})
BASIC_PHONE = frozenset({"SMS"})
APPLE_ID = frozenset({"iMessage"})
OPERATIONS = ("add", "remove", "leave", "rename", "set_icon")


def default_services(handle: str) -> frozenset[str]:
    if "@" in handle:
        return APPLE_ID
    last = handle[-1]
    if last in "012345":
        return IPHONE
    return ANDROID if last in "678" else BASIC_PHONE


def load_handles_file(path: Path | None) -> dict[str, frozenset[str]]:
    """``{handle: {"services": [...]}}`` or ``{handle: [...]}``, in JSON or YAML."""
    if path is None:
        return {}
    text = path.read_text()
    raw: Any = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    overrides: dict[str, frozenset[str]] = {}
    for handle, entry in (raw or {}).items():
        services = entry.get("services", []) if isinstance(entry, dict) else entry
        unknown = set(services) - set(SERVICE_ORDER)
        if unknown:
            raise ValueError(f"{path}: unknown services for {handle}: {sorted(unknown)}")
        overrides[str(handle)] = frozenset(services)
    return overrides


class SandboxCarrier:
    def __init__(self, db: Database, *, delay_seconds: float, file_overrides: dict[str, frozenset[str]]) -> None:
        self.db = db
        self.delay_seconds = delay_seconds
        self.file_overrides = file_overrides

    async def _override(self, partner_id: str, handle: str) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            return await store.handle_override(conn, partner_id, handle)

    async def services_of(self, partner_id: str, handle: str) -> frozenset[str]:
        override = await self._override(partner_id, handle)
        if override is not None:
            return frozenset(override["services"])
        return self.file_overrides.get(handle) or default_services(handle)

    async def _carry_out(self, operation: str, partner_id: str, handle: str) -> None:
        await asyncio.sleep(self.delay_seconds)
        override = await self._override(partner_id, handle)
        if override is not None and operation in override["failing_operations"]:
            raise CarrierRefused(f"The sandbox network refused to {operation.replace('_', ' ')} for {handle}")

    async def add_member(self, partner_id: str, chat_id: str, handle: str) -> None:
        await self._carry_out("add", partner_id, handle)

    async def remove_member(self, partner_id: str, chat_id: str, handle: str) -> None:
        await self._carry_out("remove", partner_id, handle)

    async def leave(self, partner_id: str, chat_id: str, line: str) -> None:
        await self._carry_out("leave", partner_id, line)

    async def rename(self, partner_id: str, chat_id: str, line: str, name: str) -> None:
        await self._carry_out("rename", partner_id, line)

    async def set_icon(self, partner_id: str, chat_id: str, line: str, url: str) -> None:
        await self._carry_out("set_icon", partner_id, line)
