"""Issues 13 and 21, one test per finding: each failed before its fix, each must keep passing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from linq_server.api.errors import doc_url
from linq_server.api.json_response import JSONResponse
from tests.api.test_errors import assert_envelope
from tests.conftest import World
from tests.support.phones import new_phone

JSON = {"Content-Type": "application/json"}
FIVE_MB = 5 * 1024 * 1024
ONE_MIB = 1_048_576  # README: a request body over 1 MiB is 413/1003 (written out: a larger limit must fail here)


def assert_refused(response: httpx.Response, status: int, code: int) -> None:
    """The Linq envelope, with the doc_url of its code."""
    assert_envelope(response, status, code)
    assert response.json()["error"]["doc_url"] == doc_url(code)


def chat_body(world: World, text: str = "Hello", to: list[str] | None = None) -> dict[str, Any]:
    message = {"parts": [{"type": "text", "value": text}]}
    return {"from": world.partner.lines[0], "to": to or [new_phone(1)], "message": message}


async def chat_count(world: World) -> int:
    return len((await world.http.get("/v3/chats", params={"limit": 100})).json()["chats"])


async def group(world: World) -> str:
    response = await world.http.post("/v3/chats", json=chat_body(world, to=[new_phone(1), new_phone(1)]))
    assert response.status_code == 201
    return str(response.json()["chat"]["id"])


# Finding 1: a lone surrogate was stored, then the response failed to encode: 500 after the commit.
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda body: json.dumps(body).encode(), id="json-escape"),
        pytest.param(lambda body: json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"), id="raw"),
    ],
)
async def test_a_lone_surrogate_is_refused_before_anything_is_written(world: World, encode: Any) -> None:
    raw = encode(chat_body(world, "x\ud800y"))
    response = await world.http.post("/v3/chats", content=raw, headers=JSON)
    assert response.status_code == 400
    assert_refused(response, 400, 1005 if b"\\ud800" in raw else 1003)
    assert await chat_count(world) == 0


def test_a_response_cannot_fail_to_render_whatever_text_it_holds() -> None:
    rendered = JSONResponse({"value": "x\ud800y é"}).body
    assert json.loads(rendered) == {"value": "x\ud800y é"}


# Finding 3: NUL in message text was accepted on SQLite (PostgreSQL cannot store it).
async def test_nul_in_message_text_is_refused_on_every_database(world: World) -> None:
    response = await world.http.post("/v3/chats", json=chat_body(world, "a\x00b"))
    assert_refused(response, 400, 1005)
    assert "message.parts.0.value" in response.json()["error"]["message"]
    assert await chat_count(world) == 0


async def test_unstorable_text_is_refused_in_keys_and_on_every_route(world: World) -> None:
    chat_id = await group(world)
    refused = [
        ("PUT", f"/v3/chats/{chat_id}", b'{"display_name": "ok", "\\u0000unknown": 1}'),
        ("POST", f"/v3/chats/{chat_id}/participants", b'{"handle": "\\udfff"}'),
        ("POST", "/v3/webhook-subscriptions", b'{"target_url": "https://e.com/\\ud800", "subscribed_events": []}'),
        ("POST", f"/v3/chats/{chat_id}/leave", b'{"why": "\\u0000"}'),
    ]
    for method, path, raw in refused:
        assert_refused(await world.http.request(method, path, content=raw, headers=JSON), 400, 1005)
    assert (await world.http.get(f"/v3/chats/{chat_id}")).json()["display_name"] != "ok"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"display_name": "a", "display_name": "b"}', "duplicate keys"),
        (b'{"display_name": NaN}', "NaN"),
        (b"[" * 40 + b"]" * 40, "nested deeper"),
        (b"[" * 100_000 + b"]" * 100_000, ""),
        (b'{"display_name": "\xff"}', "UTF-8"),
    ],
)
async def test_json_that_parsers_read_differently_is_a_400_1003(world: World, raw: bytes, why: str) -> None:
    chat_id = await group(world)
    response = await world.http.put(f"/v3/chats/{chat_id}", content=raw, headers=JSON)
    assert_refused(response, 400, 1003)
    assert why in response.json()["error"]["message"]


async def test_a_bom_before_json_is_ignored(world: World) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(chat_body(world)).encode()
    assert (await world.http.post("/v3/chats", content=raw, headers=JSON)).status_code == 201


# Finding 2: no limit on request size.
def _big(world: World, chat_id: str, subscription_id: str, field: str) -> tuple[str, str, dict[str, Any]]:
    huge = "x" * FIVE_MB
    hook = {"target_url": "https://example.com/hook", "subscribed_events": ["message.sent"]}
    cases: dict[str, tuple[str, str, dict[str, Any]]] = {
        "display_name": ("PUT", f"/v3/chats/{chat_id}", {"display_name": huge}),
        "group_chat_icon": ("PUT", f"/v3/chats/{chat_id}", {"group_chat_icon": "https://e.com/" + huge}),
        "target_url": ("POST", "/v3/webhook-subscriptions", {**hook, "target_url": "https://e.com/" + huge}),
        "idempotency_key": ("POST", "/v3/chats", {**chat_body(world), "message": {"idempotency_key": huge}}),
        "routing_id_header": ("PUT", f"/v3/webhook-subscriptions/{subscription_id}", {"routing_id_header": huge}),
        "unknown field": ("POST", f"/v3/chats/{chat_id}/participants", {"handle": new_phone(1), "junk": huge}),
    }
    return cases[field]


@pytest.mark.parametrize(
    "field", ["display_name", "group_chat_icon", "target_url", "idempotency_key", "routing_id_header", "unknown field"]
)
async def test_a_body_over_1_mib_is_413_before_it_is_read(world: World, field: str) -> None:
    chat_id = await group(world)
    subscription = await world.subscribe("https://example.com/hook", ["message.sent"])
    method, path, body = _big(world, chat_id, str(subscription["id"]), field)
    raw = json.dumps(body).encode()
    assert_refused(await world.http.request(method, path, content=raw, headers=JSON), 413, 1003)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the guard counts as bytes arrive
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    response = await world.http.request(method, path, content=chunked(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_refused(response, 413, 1003)
    assert await chat_count(world) == 1


async def test_whitespace_counts_toward_the_limit(world: World) -> None:
    body = json.dumps(chat_body(world)).encode()
    over = b" " * (ONE_MIB + 1 - len(body)) + body  # one byte over
    assert_refused(await world.http.post("/v3/chats", content=over, headers=JSON), 413, 1003)
    exactly = b" " * (ONE_MIB - len(body)) + body
    assert len(exactly) == ONE_MIB
    assert (await world.http.post("/v3/chats", content=exactly, headers=JSON)).status_code == 201


@pytest.mark.parametrize(
    ("field", "limit"),
    [("display_name", 255), ("group_chat_icon", 2048), ("target_url", 2048), ("routing_id_header", 100)],
)
async def test_free_text_fields_have_a_length_limit(world: World, field: str, limit: int) -> None:
    chat_id = await group(world)
    prefix = "" if field == "display_name" or "header" in field else "https://example.com/"
    value = prefix + "a" * (limit + 1 - len(prefix))
    hook = {"target_url": "https://example.com/hook", "subscribed_events": ["message.sent"]}
    if field in ("display_name", "group_chat_icon"):
        response = await world.http.put(f"/v3/chats/{chat_id}", json={field: value})
    else:
        response = await world.http.post("/v3/webhook-subscriptions", json={**hook, field: value})
    assert_refused(response, 400, 1005)
    assert field in response.json()["error"]["message"]


async def test_message_idempotency_key_is_at_most_255_characters(world: World) -> None:
    body = chat_body(world)
    body["message"]["idempotency_key"] = "k" * 256
    assert_refused(await world.http.post("/v3/chats", json=body), 400, 1005)
    body["message"]["idempotency_key"] = "k" * 255
    assert (await world.http.post("/v3/chats", json=body)).status_code == 201


# Finding 4: 10,000 copies of one handle merged into a DM.
async def test_to_longer_than_31_is_refused_before_repeats_merge(world: World) -> None:
    one = new_phone(1)
    assert_refused(await world.http.post("/v3/chats", json=chat_body(world, to=[one] * 10_000)), 400, 1005)
    assert_refused(await world.http.post("/v3/chats", json=chat_body(world, to=[one] * 32)), 400, 1005)
    assert await chat_count(world) == 0
    assert (await world.http.post("/v3/chats", json=chat_body(world, to=[one] * 31))).status_code == 201


# Finding 5: 405 without Allow.
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v3/chats", "GET, POST"),
        ("PATCH", "/v3/chats/00000000-0000-0000-0000-000000000000", "GET, PUT"),
        ("GET", "/v3/chats/00000000-0000-0000-0000-000000000000/leave", "POST"),
        ("PUT", "/v3/chats/00000000-0000-0000-0000-000000000000/participants", "DELETE, POST"),
        ("POST", "/v3/webhook-subscriptions/x", "DELETE, GET, PUT"),
        ("DELETE", "/v3/phone_numbers", "GET"),
    ],
)
async def test_every_405_names_the_allowed_methods(world: World, method: str, path: str, allow: str) -> None:
    response = await world.http.request(method, path)
    assert_refused(response, 405, 1005)
    assert response.headers["allow"] == allow


# Finding 6: error.doc_url.
async def test_every_error_carries_its_doc_url(world: World) -> None:
    assert_refused(await world.http.get("/v3/chats/00000000-0000-0000-0000-000000000000"), 404, 2001)
    assert_refused(await world.http.get("/v3/chats", headers={"Authorization": "Bearer nope"}), 401, 2004)
    assert_refused(await world.http.post("/v3/chats", json={}), 400, 1001)
    assert doc_url(2001) == "https://docs.linqapp.com/error/codes/2xxx/2001/"


# Issue 21 (held-out fuzzing): wrong types were coerced, and unsendable header names stored.
SANDBOX = "http://testserver/sandbox"
HOOK = {"target_url": "https://example.com/hook", "subscribed_events": ["message.sent"]}
NOT_TOKENS = [
    pytest.param("X-\u202eetuoR", id="rtl-override"),
    pytest.param("\U0001f468\u200d\U0001f469\u200d\U0001f467", id="emoji-sequence"),
    pytest.param("X Route", id="space"),
    pytest.param(" X-Route", id="leading-space"),  # refused, not trimmed
    pytest.param("X-Route\r\nX-Injected", id="crlf"),
    pytest.param("X:Route", id="colon"),
    pytest.param("X-Rout\u00e9", id="non-ascii-letter"),
]


@pytest.mark.parametrize("name", NOT_TOKENS)
async def test_a_routing_header_that_is_not_an_http_token_is_refused(world: World, name: str) -> None:
    cases = [
        ("routing_id_header", {"routing_id_header": name}),  # unused without a key header, still refused
        ("routing_id_header", {"routing_key_header": "X-Key", "routing_id_header": name}),
        ("routing_key_header", {"routing_key_header": name}),
    ]
    for field, extra in cases:
        response = await world.http.post("/v3/webhook-subscriptions", json={**HOOK, **extra})
        assert_refused(response, 400, 1005)
        assert field in response.json()["error"]["message"]
    assert (await world.http.get("/v3/webhook-subscriptions")).json()["subscriptions"] == []
    created = await world.subscribe(HOOK["target_url"], ["message.sent"], routing_key_header="X-Key")
    path = f"/v3/webhook-subscriptions/{created['id']}"
    for field in ("routing_id_header", "routing_key_header"):
        assert_refused(await world.http.put(path, json={field: name}), 400, 1005)
    shown = (await world.http.get(path)).json()
    assert (shown["routing_key_header"], shown["routing_id_header"]) == ("X-Key", "Linq-Chat-Id")


async def test_every_http_token_is_a_routing_header(world: World) -> None:
    token = "!#$%&'*+-.^_`|~09azAZ"  # RFC 9110 tchar, every kind
    created = await world.subscribe(
        HOOK["target_url"], ["message.sent"], routing_key_header="X.Key", routing_id_header=token
    )
    assert (created["routing_key_header"], created["routing_id_header"]) == ("X.Key", token)
    path = f"/v3/webhook-subscriptions/{created['id']}"
    updated = (await world.http.put(path, json={"routing_id_header": "Chat_Id-2"})).json()
    assert updated["routing_id_header"] == "Chat_Id-2"
    reset = (await world.http.put(path, json={"routing_id_header": None})).json()  # nullable on update (SDK)
    assert reset["routing_id_header"] == "Linq-Chat-Id"


@pytest.mark.parametrize(
    "body",
    [
        {"delivery_ms": True}, {"auto_read_ms": True}, {"delivery_ms": False}, {"delivery_ms": 5.5},
        {"delivery_ms": 5.0}, {"auto_read_ms": "5"}, {"offline": 1}, {"offline": "true"}, {"blocked": 0},
        {"replies": None}, {"replies": "[]"},
    ],
)  # fmt: skip
async def test_a_sandbox_handle_takes_no_coerced_value_and_no_null_replies(world: World, body: dict[str, Any]) -> None:
    url = f"{SANDBOX}/handles/{new_phone(1)}"
    assert (await world.http.put(url, json={"services": ["SMS"], "delivery_ms": 7})).status_code == 200
    before = (await world.http.get(url)).json()
    assert_refused(await world.http.put(url, json={"services": ["iMessage"], **body}), 400, 1005)
    assert (await world.http.get(url)).json() == before


async def test_a_sandbox_handle_takes_well_typed_values(world: World) -> None:
    url = f"{SANDBOX}/handles/{new_phone(1)}"
    body = {"services": ["SMS"], "delivery_ms": 0, "auto_read_ms": 1500, "offline": True, "blocked": False,
            "replies": [{"match": "hi", "reply": "hello", "after_ms": 10}]}  # fmt: skip
    shown = (await world.http.put(url, json=body)).json()
    assert {key: shown[key] for key in body} == body
    cleared = await world.http.put(url, json={"services": ["SMS"], "delivery_ms": None, "replies": []})
    assert cleared.status_code == 200
    assert (cleared.json()["delivery_ms"], cleared.json()["replies"]) == (None, [])


@pytest.mark.parametrize(
    "body",
    [
        {"webhooks": {"duplicate": True}}, {"webhooks": {"delay_ms": True}}, {"webhooks": {"delay_ms": 1.0}},
        {"webhooks": {"duplicate": "0.5"}}, {"webhooks": {"shuffle": 1}},
        {"rules": [{"path": "/v3/chats", "status": 500, "probability": True}]},
        {"rules": [{"path": "/v3/chats", "status": 500, "times": True}]},
        {"rules": [{"path": "/v3/chats", "latency_ms": True}]},
        {"rules": [{"path": "/v3/chats", "status": "500"}]},
    ],
)  # fmt: skip
async def test_sandbox_faults_take_no_coerced_value(world: World, body: dict[str, Any]) -> None:
    assert_refused(await world.http.put(f"{SANDBOX}/faults", json=body), 400, 1005)
    assert (await world.http.get(f"{SANDBOX}/faults")).json() == {
        "rules": [], "webhooks": {"duplicate": 0.0, "delay_ms": 0, "shuffle": False}
    }  # fmt: skip


async def test_sandbox_faults_take_well_typed_values(world: World) -> None:
    webhooks = {"duplicate": 1, "delay_ms": 250, "shuffle": True}  # an integer is a number of any kind
    rule = {"path": "/v3/chats", "status": 503, "probability": 0.5, "times": 2, "latency_ms": 10}
    response = await world.http.put(f"{SANDBOX}/faults", json={"rules": [rule], "webhooks": webhooks})
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["webhooks"] == {"duplicate": 1.0, "delay_ms": 250, "shuffle": True}
    assert {key: shown["rules"][0][key] for key in rule} == rule


async def test_an_edit_with_a_null_part_index_is_refused_as_a_reaction_is(world: World) -> None:
    created = await world.http.post("/v3/chats", json=chat_body(world, "original", to=[new_phone(1)]))
    message_id = created.json()["chat"]["message"]["id"]
    path = f"/v3/messages/{message_id}"
    edit = await world.http.patch(path, json={"text": "edited", "part_index": None})
    assert_refused(edit, 400, 1005)
    reaction = await world.http.post(f"{path}/reactions", json={"operation": "add", "type": "love", "part_index": None})
    assert_refused(reaction, 400, 1005)
    assert edit.json()["error"]["message"] == reaction.json()["error"]["message"]
    for bad in (True, "0", 0.0, -1):
        assert_refused(await world.http.patch(path, json={"text": "edited", "part_index": bad}), 400, 1005)
    assert (await world.http.get(path)).json()["parts"][0]["value"] == "original"
    for body in ({"text": "left out"}, {"text": "given", "part_index": 0}):  # part 0 either way
        edited = await world.http.patch(path, json=body)
        assert edited.status_code == 200, edited.text
        assert edited.json()["parts"][0]["value"] == body["text"]
