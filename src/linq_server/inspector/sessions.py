"""Inspector sign-in sessions: a signed, expiring cookie, and a CSRF token bound to it.

The cookie holds the partner id, an expiry and a random nonce, signed with a key derived from the
server key, so every process sharing ``LINQ_SERVER_SECRET_KEY`` accepts it and nothing is stored: no
API key ever sits in a cookie or a table. The CSRF token of a session is an HMAC of its cookie, so a
page may only post with the token it was given in that same session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "linq_inspector"
# A working day; signing out deletes the cookie at once.
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    partner_id: str
    csrf_token: str


class SessionSigner:
    def __init__(self, server_key: str) -> None:
        # A key of its own, so these signatures never double as attachment links or anything else.
        self._key = hmac.new(server_key.encode(), b"linq-server inspector sessions v1", hashlib.sha256).digest()

    def _sign(self, *fields: str) -> str:
        digest = hmac.new(self._key, "\n".join(fields).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, partner_id: str, now: float) -> str:
        """A new session cookie value for ``partner_id``, valid for ``SESSION_SECONDS`` from ``now``."""
        payload = f"{partner_id}.{int(now) + SESSION_SECONDS}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign('session', payload)}"

    def open(self, cookie: str | None, now: float) -> Session | None:
        """The session of a cookie we signed that has not expired; None for anything else."""
        if not cookie or cookie.count(".") != 3:
            return None
        payload, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign("session", payload).encode()):
            return None
        partner_id, expires, _nonce = payload.split(".")
        if not expires.isdigit() or int(expires) <= now:
            return None
        return Session(partner_id, self._sign("csrf", cookie))

    @staticmethod
    def csrf_matches(session: Session, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), session.csrf_token.encode())
