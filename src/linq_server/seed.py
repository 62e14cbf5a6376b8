"""Seeding a sandbox from a YAML file (``linq-server seed FILE``, ``LINQ_SERVER_SEED``), idempotently.

::

    partners:
      - name: acme                       # found by name, or created
        api_key: linq_sk_acme_test_key   # required: tests and clients need to know it
        phone_numbers: ["+12025550142"]
        handles:                         # sandbox overrides and devices, as PUT /sandbox/handles/{handle}
          "+14155550107": {services: [SMS], failing_operations: [add]}
          "+14155550108": {auto_read_ms: 2000, replies: [{match: "(?i)menu", reply: "Pizza!", after_ms: 1500}]}
        chats:                           # found by line, recipients and name, or created
          - {from: "+12025550142", to: ["+14155550101", "+14155550102"], display_name: Team, message: Hi}
        webhook_subscriptions:           # found by target_url, or created
          - target_url: http://127.0.0.1:9000/hook
            subscribed_events: [chat.created, participant.removed]
            signing_secret: whsec_...     # optional; so the receiver knows it in advance

Running it again changes nothing that exists; it only adds what is missing.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from linq_server.carrier.sandbox import default_services
from linq_server.domain import chats, devices, gate_settings, partners, sandbox, webhook_subscriptions
from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.handles import parse_handle, parse_phone_number
from linq_server.services import Services
from linq_server.store import chats as chat_store
from linq_server.store import seeded
from linq_server.webhooks.signing import SECRET_PREFIX


class SeedHandle(BaseModel):
    services: list[str] | None = None
    failing_operations: list[str] = []
    delivery_ms: int | None = None
    auto_read_ms: int | None = None
    offline: bool = False
    replies: list[dict[str, object]] | None = None
    blocked: bool = False


class SeedChat(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from")
    to: list[str]
    display_name: str | None = None
    message: str = "Hello"


class SeedSubscription(BaseModel):
    target_url: str
    subscribed_events: list[str]
    phone_numbers: list[str] | None = None
    signing_secret: str | None = None


class SeedPartner(BaseModel):
    name: str
    api_key: str
    phone_numbers: list[str] = []
    handles: dict[str, SeedHandle] = {}
    chats: list[SeedChat] = []
    webhook_subscriptions: list[SeedSubscription] = []


class SeedFile(BaseModel):
    partners: list[SeedPartner] = []


@dataclass
class Seeded:
    """What one partner's seeding did: its id, and how many of each thing it created (not found)."""

    name: str
    partner_id: str
    created: dict[str, int] = field(default_factory=lambda: {"chats": 0, "webhook_subscriptions": 0})


def load_seed(path: Path) -> SeedFile:
    """Parse and shape-check a seed file; ``ValueError`` names what is wrong."""
    try:
        return SeedFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"{path}: {error}") from error


def check_signing_secret(secret: str) -> str:
    """A secret as Linq issues them: ``whsec_`` and the base64 of 24 to 64 bytes."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise InvalidParameterValue("signing_secret must be whsec_ followed by base64") from error
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise InvalidParameterValue("signing_secret must be whsec_ followed by the base64 of 24 to 64 bytes")
    return secret


async def apply_seed(services: Services, seed: SeedFile) -> list[Seeded]:
    """Make every partner, line, handle override, chat and subscription of ``seed`` exist."""
    return [await _seed_partner(services, entry) for entry in seed.partners]


async def _seed_partner(services: Services, entry: SeedPartner) -> Seeded:
    partner = (await partners.ensure_partner(services.db, entry.name, entry.phone_numbers, entry.api_key)).partner
    done = Seeded(entry.name, partner.id)
    for raw_handle, handle in entry.handles.items():
        value = parse_handle(raw_handle).value
        reachable = handle.services if handle.services is not None else sorted(default_services(value))
        await sandbox.set_handle(services, partner.id, value, reachable, handle.failing_operations)
        await devices.set_device(
            services, partner.id, value, delivery_ms=handle.delivery_ms, auto_read_ms=handle.auto_read_ms,
            offline=handle.offline, replies=handle.replies,
        )  # fmt: skip
    for chat in entry.chats:
        if await _seed_chat(services, partner.id, chat):
            done.created["chats"] += 1
    # Blocks last: a seeded chat with a handle that is then blocked exists, as it would have before the block.
    for raw_handle, handle in entry.handles.items():
        await gate_settings.set_blocked(services, partner.id, raw_handle, handle.blocked)
    for subscription in entry.webhook_subscriptions:
        async with services.db.read() as conn:
            if await seeded.subscription_exists(conn, partner.id, subscription.target_url):
                continue
        await webhook_subscriptions.create_subscription(
            services, partner.id, target_url=subscription.target_url,
            subscribed_events=subscription.subscribed_events, phone_numbers=subscription.phone_numbers,
            routing_id_header=None, routing_key_header=None, trace_id=uuid.uuid4().hex,
            signing_secret=check_signing_secret(subscription.signing_secret) if subscription.signing_secret else None,
        )  # fmt: skip
        done.created["webhook_subscriptions"] += 1
    return done


async def _seed_chat(services: Services, partner_id: str, chat: SeedChat) -> bool:
    """Create the chat unless it exists; True when it was created."""
    line = parse_phone_number(chat.sender)
    recipient_key = ",".join(sorted({parse_handle(raw).value for raw in chat.to}))
    async with services.db.read() as conn:
        if await seeded.chat_exists(conn, partner_id, line, recipient_key, chat.display_name):
            return False
    created = await chats.create_chat(
        services, partner_id, sender=line, to=chat.to, trace_id=uuid.uuid4().hex, override_optout=False,
        message={"parts": [{"type": "text", "value": chat.message}]}, base_url=services.settings.public_url or "",
    )  # fmt: skip
    if chat.display_name is not None:
        # A seeded name is the chat's starting state, not a change anyone made: no rename event.
        async with services.db.write() as conn:
            await chat_store.update_chat(conn, created.view.chat.id, custom_name=chat.display_name, reusable=False)
    return True
