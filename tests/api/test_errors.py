"""Every documented envelope case, with its status, code and trace id."""

from __future__ import annotations

import re

import httpx
import pytest

from linq_server.domain import chats
from tests.conftest import PartnerAccount
from tests.support.phones import new_phone

TRACE = re.compile(r"[0-9a-f]{32}")
TEXT = {"type": "text", "value": "hi"}


def assert_envelope(response: httpx.Response, status: int, code: int, message: str | None = None) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    if message is not None:
        assert body["error"]["message"] == message
    assert TRACE.fullmatch(response.headers["x-trace-id"])
    assert body["trace_id"] == response.headers["x-trace-id"]


UNAUTHORIZED = "Unauthorized - missing or invalid authentication token"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "bearer"},
    ],
)
async def test_missing_or_wrong_key_is_401_2004(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    client.headers.pop("Authorization")
    response = await client.get("/v3/phone_numbers", headers=headers)
    assert_envelope(response, 401, 2004, UNAUTHORIZED)


async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    key = client.headers["Authorization"].split(" ", 1)[1]
    response = await client.get("/v3/phone_numbers", headers={"Authorization": f"bearer {key}"})
    assert response.status_code == 200


SUBSCRIPTIONS = "/v3/webhook-subscriptions"


async def group_of(client: httpx.AsyncClient, partner: PartnerAccount) -> str:
    body = {"from": partner.lines[0], "to": [new_phone(1), new_phone(2)], "message": {"parts": [TEXT]}}
    created = await client.post("/v3/chats", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["chat"]["id"])


@pytest.mark.parametrize("path", [SUBSCRIPTIONS, "/v3/chats"])
async def test_malformed_json_is_400_1003(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, content=b'{"target_url": ', headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, 1003, "Invalid request body")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
async def test_a_body_that_is_not_an_object_is_400_1003(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(SUBSCRIPTIONS, content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, 1003)


async def test_missing_required_field_is_400_1001(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBSCRIPTIONS, json={"subscribed_events": ["message.sent"]})
    assert_envelope(response, 400, 1001)
    assert "target_url" in response.json()["error"]["message"]


async def test_bad_value_is_400_1005(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBSCRIPTIONS, json={"target_url": "https://example.com/h", "subscribed_events": 7})
    assert_envelope(response, 400, 1005)
    assert "subscribed_events" in response.json()["error"]["message"]


async def test_handle_not_e164_is_400_1002(client: httpx.AsyncClient, partner: PartnerAccount) -> None:
    group = await group_of(client, partner)
    response = await client.post(f"/v3/chats/{group}/participants", json={"handle": "202-555-0100"})
    assert_envelope(response, 400, 1002, "Phone number must be in E.164 format")


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient, partner: PartnerAccount) -> None:
    group = await group_of(client, partner)
    added = await client.post(f"/v3/chats/{group}/participants", json={"handle": new_phone(3), "from_a_newer_sdk": 1})
    assert added.status_code == 202 and added.json()["status"] == "accepted"
    created = await client.post(
        SUBSCRIPTIONS, json={"target_url": "https://example.com/x", "subscribed_events": ["message.sent"], "z": [1]}
    )
    assert created.status_code == 201


async def test_unknown_route_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/v3/no-such-thing"), 404, 2001, "Resource not found")


async def test_wrong_method_is_a_405_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.delete("/v3/phone_numbers"), 405, 1005)


async def test_unexpected_exception_is_500_3006_and_logged_with_the_trace_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(chats, "list_chats", broken)  # a real route whose domain call fails unexpectedly
    response = await client.get("/v3/chats")
    assert_envelope(response, 500, 3006, "Internal server error")
    trace_id = response.headers["x-trace-id"]
    logged = [record for record in caplog.records if trace_id in record.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_every_response_has_a_fresh_trace_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/v3/phone_numbers")
    second = await client.get("/v3/phone_numbers", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
    assert TRACE.fullmatch(first.headers["x-trace-id"]) and TRACE.fullmatch(second.headers["x-trace-id"])
    assert first.headers["x-trace-id"] != second.headers["x-trace-id"] != "a" * 32


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("http://testserver/healthz", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert TRACE.fullmatch(response.headers["x-trace-id"])


async def test_docs_and_openapi_are_served_without_internet(client: httpx.AsyncClient) -> None:
    docs = await client.get("http://testserver/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert (await client.get("http://testserver/docs-assets/swagger-ui-bundle.js")).status_code == 200
    # It renders in a browser too: tests/inspector/test_browser.py opens it in Chromium.


async def test_the_servers_address_leads_to_the_inspector(client: httpx.AsyncClient) -> None:
    home = await client.get("http://testserver/", headers={"Authorization": ""})
    assert home.status_code == 307 and home.headers["location"] == "/inspector"
    schema = (await client.get("http://testserver/openapi.json")).json()
    assert "/api/partner/v3/phone_numbers" in schema["paths"]
