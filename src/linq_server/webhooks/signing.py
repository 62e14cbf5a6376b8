"""Signing secrets and the signatures on every delivery attempt."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from standardwebhooks import Webhook

from linq_server.config import kept_secret

SECRET_PREFIX = "whsec_"
OPENED_SECRETS_HELD = 1024


def generate_signing_secret() -> str:
    """``whsec_`` + standard base64 of 32 random bytes, as Linq issues them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def legacy_signature(secret: str, timestamp: int, body: str) -> str:
    """``X-Webhook-Signature``: hex HMAC-SHA256 keyed with the whole secret string, over ``"{ts}.{body}"``."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=OPENED_SECRETS_HELD)
def _signer(secret: str) -> Webhook:
    """A secret's Standard Webhooks signer (made once: it decodes the secret)."""
    return Webhook(secret)


def signature_headers(
    *, secret: str, event_id: str, event_type: str, subscription_id: str, sent_at: datetime, body: str
) -> dict[str, str]:
    """All signature headers of one attempt: Standard Webhooks plus Linq's legacy ``X-Webhook-*``."""
    timestamp = int(sent_at.timestamp())
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": _signer(secret).sign(event_id, sent_at, body),
        "x-webhook-event": event_type,
        "x-webhook-subscription-id": subscription_id,
        "x-webhook-timestamp": str(timestamp),
        "x-webhook-signature": legacy_signature(secret, timestamp, body),
    }


def signatures_verify(secret: str, headers: dict[str, str], body: str) -> bool:
    """Do an attempt's recorded headers carry valid signatures of ``body`` (Standard Webhooks and legacy)?

    Checked against the secret whatever the attempt's age: the question is whether a receiver holding the
    secret could have verified it then, not whether its timestamp is still fresh now.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    event_id, timestamp = lowered.get("webhook-id"), lowered.get("webhook-timestamp", "")
    if not event_id or not timestamp.isdigit():
        return False
    sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    expected = Webhook(secret).sign(event_id, sent_at, body).split(",", 1)[1]
    offered = [s.split(",", 1)[1] for s in lowered.get("webhook-signature", "").split() if s.startswith("v1,")]
    standard = any(hmac.compare_digest(expected.encode(), given.encode()) for given in offered)
    legacy = lowered.get("x-webhook-signature")
    legacy_ok = legacy is None or hmac.compare_digest(
        legacy.encode(), legacy_signature(secret, int(timestamp), body).encode()
    )
    return standard and legacy_ok


class SecretBox:
    """Encrypts signing secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256) with the server key."""

    def __init__(self, server_key: str) -> None:
        # Any string works as a server key: it is stretched to Fernet's 32-byte key with SHA-256.
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(server_key.encode()).digest()))
        # Opened secrets by ciphertext: every delivery needs its subscription's, and decrypting each time
        # cost a twentieth of the worker. Held in memory only, like the server key itself.
        self._opened: dict[str, str] = {}

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, ciphertext: str) -> str:
        secret = self._opened.get(ciphertext)
        if secret is None:
            if len(self._opened) >= OPENED_SECRETS_HELD:
                self._opened.clear()
            secret = self._opened[ciphertext] = self._fernet.decrypt(ciphertext.encode()).decode()
        return secret


def load_server_key(configured: str | None, data_dir: Path) -> str:
    """``LINQ_SERVER_SECRET_KEY``, or a key generated once into the data folder (owner-only)."""
    return configured or kept_secret(data_dir / "secret-key", lambda: secrets.token_urlsafe(32))
