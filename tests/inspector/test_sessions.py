"""Inspector sessions and the signature check of the delivery log, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from linq_server.inspector.sessions import SESSION_SECONDS, SessionSigner
from linq_server.webhooks.signing import generate_signing_secret, signature_headers, signatures_verify

NOW = 1_800_000_000.0
PARTNER = "6f1c2e0a-3c55-4a57-9d4e-1d0c9f1f2b11"


def test_a_session_opens_until_it_expires_and_only_with_our_key() -> None:
    signer = SessionSigner("server key")
    cookie = signer.issue(PARTNER, NOW)
    session = signer.open(cookie, NOW + SESSION_SECONDS - 1)
    assert session is not None and session.partner_id == PARTNER
    assert signer.open(cookie, NOW + SESSION_SECONDS) is None
    assert SessionSigner("another server's key").open(cookie, NOW) is None
    assert signer.issue(PARTNER, NOW) != cookie  # each sign-in is a session of its own


@given(st.text(max_size=200))
def test_nothing_but_a_cookie_we_issued_opens_a_session(forged: str) -> None:
    assert SessionSigner("server key").open(forged, NOW) is None


def test_a_tampered_cookie_is_refused() -> None:
    signer = SessionSigner("server key")
    payload, _, signature = signer.issue(PARTNER, NOW).rpartition(".")
    other_partner = payload.replace(PARTNER, "00000000-0000-4000-8000-000000000000")
    assert signer.open(f"{other_partner}.{signature}", NOW) is None
    later = payload.split(".")
    later[1] = str(int(later[1]) + 10 * SESSION_SECONDS)
    assert signer.open(f"{'.'.join(later)}.{signature}", NOW) is None


def test_the_csrf_token_belongs_to_one_session() -> None:
    signer = SessionSigner("server key")
    first = signer.open(signer.issue(PARTNER, NOW), NOW)
    second = signer.open(signer.issue(PARTNER, NOW), NOW)
    assert first is not None and second is not None
    assert SessionSigner.csrf_matches(first, first.csrf_token)
    assert not SessionSigner.csrf_matches(first, second.csrf_token)
    assert not SessionSigner.csrf_matches(first, None)


@given(st.text(max_size=300), st.integers(min_value=1_600_000_000, max_value=2_000_000_000))
def test_recorded_headers_verify_with_their_secret_and_not_another(body: str, timestamp: int) -> None:
    secret = generate_signing_secret()
    headers = signature_headers(
        secret=secret, event_id="evt-1", event_type="message.sent", subscription_id="sub-1",
        sent_at=datetime.fromtimestamp(timestamp, UTC), body=body,
    )  # fmt: skip
    assert signatures_verify(secret, headers, body)
    assert not signatures_verify(generate_signing_secret(), headers, body)
    assert not signatures_verify(secret, headers, body + " ")
    assert not signatures_verify(secret, {**headers, "webhook-timestamp": str(timestamp + 1)}, body)
    assert not signatures_verify(secret, {k: v for k, v in headers.items() if k != "webhook-signature"}, body)
