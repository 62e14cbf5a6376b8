from __future__ import annotations

import base64
from datetime import UTC, datetime

import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from linq_server.webhooks.signing import SecretBox, generate_signing_secret, legacy_signature, signature_headers

# The test vector of shared/spec/webhooks.md §6.3.
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
EVENT_ID = "2915e81c-5068-4796-ace2-21d2c94ad298"
TIMESTAMP = 1767225600
BODY = '{"api_version":"v3","event_type":"message.sent"}'


def test_matches_the_documented_test_vector() -> None:
    headers = signature_headers(
        secret=SECRET, event_id=EVENT_ID, event_type="message.sent", subscription_id="sub",
        sent_at=datetime.fromtimestamp(TIMESTAMP, UTC), body=BODY,
    )  # fmt: skip
    assert headers["webhook-signature"] == "v1,vtR0vMDSaUXHD/VshX9CyeFf6L1DkvMuB6IyFf4Wrnk="
    assert headers["x-webhook-signature"] == "33891eccd6a27aa85fa5dc6838e8bd05894950b635de3319b75304cda89dc726"
    assert headers["webhook-timestamp"] == headers["x-webhook-timestamp"] == str(TIMESTAMP)
    assert legacy_signature(SECRET, TIMESTAMP, BODY) == headers["x-webhook-signature"]


@given(body=st.text(), event_id=st.uuids().map(str))
def test_signatures_round_trip_through_standard_webhooks(body: str, event_id: str) -> None:
    secret = generate_signing_secret()
    headers = signature_headers(
        secret=secret, event_id=event_id, event_type="x", subscription_id="s", sent_at=datetime.now(UTC), body=body
    )
    assert standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False) is None


def test_generated_secrets_are_32_random_bytes() -> None:
    secrets = {generate_signing_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(base64.b64decode(s.removeprefix("whsec_"))) == 32 for s in secrets)


@given(st.text(min_size=1))
def test_secret_box_round_trips_and_hides_the_secret(secret: str) -> None:
    box = SecretBox("server key")
    sealed = box.seal(secret)
    assert box.open(sealed) == secret
    assert SecretBox("server key").open(sealed) == secret
    assert secret not in sealed or len(secret) < 4
