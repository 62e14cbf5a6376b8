"""The webhook subscriptions API, shaped as linq-python 0.65.0 models it."""

from __future__ import annotations

import base64

import httpx
import pytest
import sqlalchemy as sa
from linq.types.webhook_event_list_response import WebhookEventListResponse
from linq.types.webhook_subscription import WebhookSubscription
from linq.types.webhook_subscription_create_response import WebhookSubscriptionCreateResponse
from linq.types.webhook_subscription_list_response import WebhookSubscriptionListResponse

from linq_server.store.database import Database
from linq_server.store.schema import webhook_subscriptions
from tests.api.test_errors import assert_envelope
from tests.conftest import make_partner

URL = "https://example.com/hooks"


async def create(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post(
        "/v3/webhook-subscriptions", json={"target_url": URL, "subscribed_events": ["message.sent"], **body}
    )


async def test_create_returns_the_secret_once(client: httpx.AsyncClient) -> None:
    response = await create(client, phone_numbers=["+12025550100"])
    assert response.status_code == 201
    created = WebhookSubscriptionCreateResponse.model_validate(response.json())
    assert created.signing_secret.startswith("whsec_")
    assert len(base64.b64decode(created.signing_secret.removeprefix("whsec_"))) == 32
    assert created.is_active and created.subscribed_events == ["message.sent"]
    assert created.phone_numbers == ["+12025550100"]

    retrieved = await client.get(f"/v3/webhook-subscriptions/{created.id}")
    assert retrieved.status_code == 200
    assert "signing_secret" not in retrieved.json()
    WebhookSubscription.model_validate(retrieved.json())
    listed = await client.get("/v3/webhook-subscriptions")
    assert "signing_secret" not in listed.text
    assert [s.id for s in WebhookSubscriptionListResponse.model_validate(listed.json()).subscriptions] == [created.id]


async def test_secret_is_stored_encrypted(client: httpx.AsyncClient, db: Database) -> None:
    secret = (await create(client)).json()["signing_secret"]
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(webhook_subscriptions.c.secret_ciphertext))).scalars().all()
    assert stored and all(secret not in value and secret.removeprefix("whsec_") not in value for value in stored)


async def test_update_is_put_with_patch_semantics(client: httpx.AsyncClient) -> None:
    created = (await create(client, phone_numbers=["+12025550100"])).json()
    response = await client.put(f"/v3/webhook-subscriptions/{created['id']}", json={"is_active": False})
    assert response.status_code == 200
    updated = WebhookSubscription.model_validate(response.json())
    assert updated.is_active is False
    assert updated.target_url == URL and updated.phone_numbers == ["+12025550100"]
    cleared = await client.put(f"/v3/webhook-subscriptions/{created['id']}", json={"phone_numbers": None})
    assert cleared.json()["phone_numbers"] is None
    routed = await client.put(f"/v3/webhook-subscriptions/{created['id']}", json={"routing_key_header": "X-Route"})
    assert routed.json()["routing_key_header"] == "X-Route" and routed.json()["routing_id_header"] == "Linq-Chat-Id"


async def test_delete_then_404_2010(client: httpx.AsyncClient) -> None:
    created = (await create(client)).json()
    response = await client.delete(f"/v3/webhook-subscriptions/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_envelope(
        await client.get(f"/v3/webhook-subscriptions/{created['id']}"), 404, 2010, "Webhook subscription not found"
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_another_partners_subscription_is_not_found(client: httpx.AsyncClient, db: Database, method: str) -> None:
    created = (await create(client)).json()
    other = await make_partner(db)
    response = await client.request(
        method, f"/v3/webhook-subscriptions/{created['id']}", json={"is_active": False},
        headers={"Authorization": f"Bearer {other.api_key}"},
    )  # fmt: skip
    assert_envelope(response, 404, 2010)
    listed = await client.get("/v3/webhook-subscriptions", headers={"Authorization": f"Bearer {other.api_key}"})
    assert listed.json() == {"subscriptions": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"subscribed_events": ["message.nope"]}, 1005),
        ({"subscribed_events": []}, 1005),
        ({"target_url": "ftp://example.com/x"}, 1005),
        ({"target_url": "not a url"}, 1005),
        ({"target_url": "https://example.com/x?version=1999-01-01"}, 1005),
        ({"phone_numbers": ["555-0100"]}, 1002),
        ({"subscribed_events": "message.sent"}, 1005),
    ],
)
async def test_invalid_create_bodies(client: httpx.AsyncClient, body: dict[str, object], code: int) -> None:
    assert_envelope(await create(client, **body), 400, code)


async def test_missing_target_url_is_1001(client: httpx.AsyncClient) -> None:
    response = await client.post("/v3/webhook-subscriptions", json={"subscribed_events": ["message.sent"]})
    assert_envelope(response, 400, 1001)


async def test_duplicate_target_url_is_409_without_retry(client: httpx.AsyncClient) -> None:
    assert (await create(client)).status_code == 201
    duplicate = await create(client)
    assert_envelope(duplicate, 409, 2015)
    assert duplicate.headers["x-should-retry"] == "false"


async def test_event_types_list_all_75(client: httpx.AsyncClient) -> None:
    response = await client.get("/v3/webhook-events")
    parsed = WebhookEventListResponse.model_validate(response.json())
    assert len(parsed.events) == 75 and len(set(parsed.events)) == 75
    assert "participant.added" in parsed.events


async def test_production_mode_refuses_internal_targets(client: httpx.AsyncClient) -> None:
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    services.settings.sandbox = False
    try:
        for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
            assert_envelope(await create(client, target_url=url), 400, 1005)
    finally:
        services.settings.sandbox = True
    assert (await create(client, target_url="http://127.0.0.1:9/x")).status_code == 201
