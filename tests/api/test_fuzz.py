"""No input, however malformed, makes the server answer 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linq_server.app import create_app
from linq_server.config import Settings
from linq_server.domain import partners
from tests.support.phones import new_phone

PATHS = [
    "/v3/phone_numbers",
    "/v3/phonenumbers",
    "/v3/chats",
    "/v3/chats/00000000-0000-0000-0000-000000000000",
    "/v3/chats/not-a-uuid/participants",
    "/v3/chats/00000000-0000-0000-0000-000000000000/participants",
    "/v3/chats/00000000-0000-0000-0000-000000000000/leave",
    "/v3/chats/00000000-0000-0000-0000-000000000000/read",
    "/v3/webhook-subscriptions",
    "/v3/webhook-subscriptions/whatever",
    "/v3/webhook-events",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(
        st.sampled_from(
            [
                "handle",
                "from",
                "to",
                "message",
                "target_url",
                "subscribed_events",
                "is_active",
                "display_name",
                "group_chat_icon",
                "phone_numbers",
                "services",
                "failing_operations",
            ]
        ),
        json_values,
        max_size=4,
    ).map(lambda value: json.dumps(value).encode()),
)


class Driver:
    """Runs the real app in one private event loop, so hypothesis (sync) can call it many times."""

    def __init__(self, app_settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(app_settings)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        self.key, self.line = self.loop.run_until_complete(self._make_partner())

    async def _make_partner(self) -> tuple[str, str]:
        created = await partners.create_partner(self.app.state.services.db, f"fuzz-{new_phone()}", [new_phone()])
        return created.api_key, created.lines[0].phone_number

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(*args, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.app.state.services.db.close())
        self.loop.close()


@pytest.fixture(scope="module")
def http(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    driver = Driver(Settings(database_url=database_url, data_dir=tmp_path_factory.mktemp("fuzz")))
    yield driver
    driver.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=st.sampled_from(PATHS)
    | st.text(alphabet="abc/-_.%0123456789", max_size=30).map(lambda p: "/v3/" + p)
    | st.sampled_from(["/sandbox/handles/+14155550100", "/sandbox/handles/x"]).map(lambda p: "/.." + p),
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"]),
    authorized=st.booleans(),
    query=st.dictionaries(st.sampled_from(["limit", "cursor", "from", "to", "version"]), st.text(max_size=8)),
)
def test_no_request_yields_a_500(
    http: Driver,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    authorized: bool,
    query: dict[str, str],
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if authorized:
        headers["Authorization"] = f"Bearer {http.key}"
    url = path[3:] if path.startswith("/..") else "/api/partner" + path
    response = http.request(method, url, content=body, headers=headers, params=query)
    assert response.status_code < 500, response.text
    assert "x-trace-id" in response.headers
    if response.status_code >= 400:
        assert response.json()["success"] is False


handles = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\+1415[0-9]{7}", fullmatch=True),
    st.emails(),
    st.integers(),
    st.none(),
)
parts = st.lists(
    st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["text", "link", "media", "x"]), "value": json_values}),
        st.fixed_dictionaries({"type": st.just("media"), "url": json_values, "attachment_id": json_values}),
        json_values,
    ),
    max_size=4,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    to=st.lists(handles, max_size=4) | json_values,
    message=st.fixed_dictionaries(
        {"parts": parts},
        optional={
            "preferred_service": st.sampled_from(["iMessage", "SMS", "RCS", "Fax"]),
            "effect": json_values,
            "reply_to": json_values,
        },
    )
    | json_values,
    participant=handles,
    method=st.sampled_from(["POST", "DELETE"]),
)
def test_chat_and_participant_bodies_never_yield_a_500(
    http: Driver, to: object, message: object, participant: object, method: str
) -> None:
    headers = {"Authorization": f"Bearer {http.key}"}
    created = http.request(
        "POST", "/api/partner/v3/chats", json={"from": http.line, "to": to, "message": message}, headers=headers
    )
    assert created.status_code < 500, created.text
    if created.status_code in (200, 201):
        chat_id = created.json()["chat"]["id"]
        changed = http.request(
            method, f"/api/partner/v3/chats/{chat_id}/participants", json={"handle": participant}, headers=headers
        )
        assert changed.status_code < 500, changed.text


# Characters that break naive code: lone surrogates (not encodable as UTF-8), NUL and other control
# characters, and ordinary letters, digits and symbols around them.
hostile_text = st.text(
    st.characters(categories=("Cs", "Cc", "Cf", "Lu", "Ll", "Nd", "Po", "Zs", "So"))
    | st.sampled_from(["\x00", "\ud800"]),
    max_size=12,
)
message_text = st.text(
    st.characters(categories=("Cs", "Cc", "Cf", "Lu", "Ll", "Nd", "Po", "Zs", "So")) | st.just("\x00"),
    min_size=1,
    max_size=12,
)
WRITTEN_TABLES = (
    "chats", "chat_participants", "chat_changes", "messages", "jobs", "webhook_subscriptions", "webhook_events",
    "sandbox_handles",
)  # fmt: skip


def raw_json(value: object) -> bytes:
    """JSON text as a client could send it: lone surrogates become ``\\udxxx`` escapes (httpx ``json=`` refuses)."""
    return json.dumps(value, ensure_ascii=True).encode()


def rows_written(http: Driver) -> dict[str, int]:
    import sqlalchemy as sa

    async def count() -> dict[str, int]:
        async with http.app.state.services.db.read() as conn:
            return {
                name: int((await conn.execute(sa.text(f"SELECT count(*) FROM {name}"))).scalar_one())
                for name in WRITTEN_TABLES
            }

    return http.loop.run_until_complete(count())


def assert_refused_cleanly_or_accepted(http: Driver, method: str, url: str, body: bytes) -> httpx.Response:
    before = rows_written(http)
    headers = {"Authorization": f"Bearer {http.key}", "Content-Type": "application/json"}
    response = http.request(method, url, content=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["success"] is False
        assert rows_written(http) == before, "a refused request wrote something"
    return response


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["to", "from", "preferred_service", "idempotency_key", "part_type"]),
    value=hostile_text,
    text=message_text,
)
def test_hostile_text_deep_in_a_valid_chat_body_is_refused_cleanly(
    http: Driver, field: str, value: str, text: str
) -> None:
    message: dict[str, Any] = {"parts": [{"type": "text", "value": text}]}
    body: dict[str, Any] = {"from": http.line, "to": [new_phone(1), new_phone(2)], "message": message}
    if field == "to":
        body["to"] = [new_phone(1), value]
    elif field == "from":
        body["from"] = value
    elif field == "part_type":
        message["parts"][0]["type"] = value
    else:
        message[field] = value
    assert_refused_cleanly_or_accepted(http, "POST", "/api/partner/v3/chats", raw_json(body))


@pytest.fixture(scope="module")
def group_id(http: Driver) -> str:
    body = {
        "from": http.line,
        "to": [new_phone(1), new_phone(2)],
        "message": {"parts": [{"type": "text", "value": "hi"}]},
    }
    created = http.request("POST", "/api/partner/v3/chats", json=body, headers={"Authorization": f"Bearer {http.key}"})
    assert created.status_code == 201, created.text
    return str(created.json()["chat"]["id"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(["participants", "rename", "icon", "subscription", "sandbox"]),
    value=hostile_text,
    method=st.sampled_from(["POST", "DELETE"]),
)
def test_hostile_text_in_changes_is_refused_cleanly(
    http: Driver, group_id: str, target: str, value: str, method: str
) -> None:
    chat = f"/api/partner/v3/chats/{group_id}"
    method, url, body = {
        "participants": (method, f"{chat}/participants", {"handle": value}),
        "rename": ("PUT", chat, {"display_name": value}),
        "icon": ("PUT", chat, {"group_chat_icon": value}),
        "subscription": ("POST", "/api/partner/v3/webhook-subscriptions",
                         {"target_url": f"https://example.com/{value}", "subscribed_events": ["message.sent", value]}),
        "sandbox": ("PUT", f"/sandbox/handles/{new_phone(1)}", {"services": [value], "failing_operations": [value]}),
    }[target]  # fmt: skip
    assert_refused_cleanly_or_accepted(http, method, url, raw_json(body))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=16), where=st.sampled_from(["handle", "display_name", "target_url"]))
def test_undecodable_bytes_inside_a_json_string_are_refused_cleanly(
    http: Driver, group_id: str, raw: bytes, where: str
) -> None:
    chat = f"/api/partner/v3/chats/{group_id}"
    method, url = {
        "handle": ("POST", f"{chat}/participants"),
        "display_name": ("PUT", chat),
        "target_url": ("POST", "/api/partner/v3/webhook-subscriptions"),
    }[where]
    body = b'{"' + where.encode() + b'": "' + raw.replace(b"\\", b"").replace(b'"', b"") + b'\xff\xfe"}'
    response = assert_refused_cleanly_or_accepted(http, method, url, body)
    assert response.status_code == 400


def test_a_lone_surrogate_in_a_first_message_is_refused_and_writes_nothing(http: Driver) -> None:
    body = {"from": http.line, "to": [new_phone(1)], "message": {"parts": [{"type": "text", "value": "a\ud800b"}]}}
    response = assert_refused_cleanly_or_accepted(http, "POST", "/api/partner/v3/chats", raw_json(body))
    assert response.status_code == 400
