"""Contact cards as the API shows them, and the ``contact_card.*`` account events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from linq_server.clock import isoformat
from linq_server.store.contact_cards import ContactCard


def card_json(card: ContactCard) -> dict[str, Any]:
    """SetContactCard, and the items of ``GET /v3/contact_card``."""
    return {
        "phone_number": card.phone_number,
        "first_name": card.first_name,
        "last_name": card.last_name,
        "image_url": card.image_url,
        "is_active": card.is_active,
    }


def _activity(summary: str, card: ContactCard, occurred_at: datetime) -> dict[str, Any]:
    return {
        "summary": summary,
        "occurred_at": isoformat(occurred_at),
        "actor": {"type": "api"},
        "origin": "api",
        "phone_number": card.phone_number,
        "contact_card": {
            "id": card.id, "first_name": card.first_name, "last_name": card.last_name, "image_url": card.image_url,
        },
    }  # fmt: skip


def card_created_json(card: ContactCard, occurred_at: datetime) -> dict[str, Any]:
    return _activity(f"Contact card created for {card.phone_number}", card, occurred_at)


def card_updated_json(before: ContactCard, after: ContactCard, occurred_at: datetime) -> dict[str, Any]:
    """``change`` names each field that changed, as ``{"from", "to"}``."""
    data = _activity(f"Contact card updated for {after.phone_number}", after, occurred_at)
    data["change"] = {
        name: {"from": getattr(before, name), "to": getattr(after, name)}
        for name in ("first_name", "last_name", "image_url")
        if getattr(before, name) != getattr(after, name)
    }
    return data
