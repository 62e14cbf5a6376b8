"""Hostile bodies on every write route: never a 5xx, always the 4xx envelope, nothing written on a 4xx.

Text comes from every Unicode category, lone surrogates (Cs) and controls (Cc) included, and is sent
as raw bytes (``content=``), since ``json=`` cannot encode a lone surrogate.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from linq_server.app import create_app
from linq_server.config import Settings
from linq_server.domain import partners
from linq_server.store.schema import metadata
from tests.support.databases import DatabaseFactory
from tests.support.phones import new_phone


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: dict[str, Any]


class Driver:
    """The real app in one private event loop, with a group chat and a subscription to aim at."""

    def __init__(self, app_settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(app_settings)
        self.db = self.app.state.services.db
        self.loop.run_until_complete(self._setup())

    async def _setup(self) -> None:
        created = await partners.create_partner(self.db, f"hostile-{new_phone()}", [new_phone(0)])
        self.line = created.lines[0].phone_number
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {created.api_key}", "Content-Type": "application/json"},
        )
        message = {"parts": [{"type": "text", "value": "Hello"}]}
        member = new_phone(1)
        chat = await self.http.post(
            "/api/partner/v3/chats", json={"from": self.line, "to": [member, new_phone(1)], "message": message}
        )
        hook = {"target_url": "https://example.com/hook", "subscribed_events": ["message.sent"]}
        subscription = await self.http.post("/api/partner/v3/webhook-subscriptions", json=hook)
        chat_path = f"/api/partner/v3/chats/{chat.json()['chat']['id']}"
        hook_path = f"/api/partner/v3/webhook-subscriptions/{subscription.json()['id']}"
        chat_id, message_id = chat.json()["chat"]["id"], chat.json()["chat"]["message"]["id"]
        message_path = f"/api/partner/v3/messages/{message_id}"
        text = {"parts": [{"type": "text", "value": "Again"}]}
        # Never uploaded: a voice memo naming it is refused (404/2007) unless an edit makes it worse.
        audio = {"filename": "memo.mp3", "content_type": "audio/mpeg", "size_bytes": 10}
        pending = (await self.http.post("/api/partner/v3/attachments", json=audio)).json()["attachment_id"]
        self.routes = [
            Route("POST", "/api/partner/v3/chats", {"from": self.line, "to": [new_phone(1)], "message": message}),
            Route("PUT", chat_path, {"display_name": "Team", "group_chat_icon": "https://example.com/i.png"}),
            Route("POST", f"{chat_path}/participants", {"handle": new_phone(1)}),
            Route("DELETE", f"{chat_path}/participants", {"handle": new_phone(1)}),
            Route("POST", f"{chat_path}/read", {}),
            Route("POST", f"{chat_path}/leave", {}),
            Route("POST", "/api/partner/v3/webhook-subscriptions", {**hook, "routing_id_header": "X-Route"}),
            Route("PUT", hook_path, {**hook, "phone_numbers": [self.line], "is_active": True}),
            Route("DELETE", hook_path, {}),
            Route("PUT", f"/sandbox/handles/{new_phone(1)}", {"services": ["SMS"], "failing_operations": []}),
            Route("POST", f"{chat_path}/messages", {"message": {**text, "idempotency_key": "k"}}),
            Route("POST", "/api/partner/v3/messages", {"to": [new_phone(1)], "message": text}),
            Route("PATCH", message_path, {"text": "Edited", "part_index": 0}),
            Route("POST", f"{message_path}/reactions", {"operation": "add", "type": "love", "part_index": 0}),
            Route("DELETE", message_path, {}),
            Route("POST", f"{chat_path}/typing", {}),
            Route(
                "POST",
                "/api/partner/v3/attachments",
                {"filename": "a.png", "content_type": "image/png", "size_bytes": 10},
            ),
            Route("POST", "/api/partner/v3/contact_card", {"phone_number": self.line, "first_name": "Ada"}),
            Route("POST", "/api/partner/v3/capability/check_imessage", {"address": new_phone(1)}),
            Route("POST", f"{chat_path}/voicememo", {"attachment_id": pending, "override_optout": False}),
            Route("POST", f"/sandbox/handles/{member}/messages", {"to": self.line, **text}),
            Route(
                "POST",
                f"/sandbox/handles/{member}/messages",
                {"chat_id": chat_id, **text, "reply_to": {"message_id": message_id, "part_index": 0}},
            ),
            Route(
                "POST",
                f"/sandbox/handles/{member}/reactions",
                {"message_id": message_id, "operation": "add", "type": "like"},
            ),
            Route("POST", f"/sandbox/handles/{member}/read", {"chat_id": chat_id}),
            Route("POST", f"/sandbox/handles/{member}/typing", {"chat_id": chat_id, "typing": True}),
            Route("POST", f"/sandbox/handles/{member}/leave", {"chat_id": chat_id}),
            Route(
                "PUT",
                f"/sandbox/handles/{member}",
                {
                    "services": ["iMessage"],
                    "replies": [{"match": "(?i)hi", "reply": "Hello", "after_ms": 10}],
                },
            ),
        ]

    def rows(self) -> dict[str, int]:
        async def count() -> dict[str, int]:
            async with self.db.read() as conn:
                return {
                    table.name: (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                    for table in metadata.sorted_tables
                }

        return self.loop.run_until_complete(count())

    def send(self, route: Route, raw: bytes) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(route.method, route.path, content=raw))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.db.close())
        self.loop.close()


@pytest.fixture(scope="module")
def driver(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    running = Driver(Settings(database_url=databases.new(), data_dir=tmp_path_factory.mktemp("hostile")))
    yield running
    running.close()


ONE_MIB = 1_048_576  # README: a request body over 1 MiB is 413/1003, whatever it holds
_DEEP = re.compile(r'"__deep_(\d+)__"')


def _deep(depth: int) -> str:
    return f"__deep_{depth}__"  # replaced by raw nesting after encoding: json.dumps itself would overflow


any_text = st.text(st.characters(categories=["Cs", "Cc", "Cf", "Zs"]) | st.characters(), max_size=12)
hostile_values = st.one_of(
    any_text,
    st.sampled_from(["\x00", "a\ud800b", "\udfff", "\ufeff", "\u2028", "\x1b[31m"]),
    st.sampled_from([300, 3_000, 70_000, ONE_MIB + 1]).map(lambda size: "a" * size),
    st.sampled_from([32, 1_000, 60_000]).map(lambda size: ["+14155550100"] * size),
    st.integers(min_value=30, max_value=5_000).map(_deep),
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(any_text, max_size=3),
    st.dictionaries(any_text, any_text, max_size=3),
)
targets = st.sampled_from(
    ["from", "to", "to.0", "message", "message.parts.0.value", "message.idempotency_key", "display_name",
     "group_chat_icon", "handle", "target_url", "subscribed_events", "subscribed_events.0", "phone_numbers",
     "routing_id_header", "routing_key_header", "is_active", "services", "failing_operations", "attachment_id",
     "voice_memo_url", "override_optout", "message.parts.0.attachment_id", "parts", "parts.0.value", "chat_id",
     "message_id", "reply_to", "reply_to.message_id", "operation", "type", "replies", "replies.0.match",
     "replies.0.after_ms", "typing", "junk"]
)  # fmt: skip


def _index(node: list[Any], key: str) -> int:
    if key.isdigit() and int(key) < len(node):
        return int(key)
    node.append(None)
    return len(node) - 1


def _set(body: dict[str, Any], where: str, value: object) -> None:
    """Put ``value`` at a dotted path, creating or replacing what is on the way."""
    *parents, last = where.split(".")
    node: Any = body
    for key in parents:
        slot: Any = _index(node, key) if isinstance(node, list) else key
        child = node[slot] if isinstance(node, list) else node.get(slot)
        if not isinstance(child, (dict, list)):
            child = node[slot] = {}
        node = child
    node[_index(node, last) if isinstance(node, list) else last] = value


def _unstorable(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def _encode(body: dict[str, Any], how: str) -> bytes:
    text = _DEEP.sub(
        lambda found: "[" * int(found[1]) + "]" * int(found[1]), json.dumps(body, ensure_ascii=how != "raw")
    )
    raw = text.encode("utf-8", "surrogatepass")
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "duplicate" and body:
        return b'{"' + next(iter(body)).encode("ascii", "backslashreplace") + b'": null, ' + raw[1:]
    return raw


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.integers(min_value=0, max_value=99),
    edits=st.lists(st.tuples(targets | any_text, hostile_values), min_size=1, max_size=3),
    how=st.sampled_from(["ascii", "raw", "bom", "duplicate"]),
)
def test_hostile_bodies_are_refused_cleanly_and_change_nothing(
    driver: Driver, route: int, edits: list[tuple[str, object]], how: str
) -> None:
    target = driver.routes[route % len(driver.routes)]  # every route, however many the list grows to
    body = copy.deepcopy(target.body)
    for where, value in edits:
        _set(body, where, value)
    raw = _encode(body, how)
    before = driver.rows()
    response = driver.send(target, raw)
    event(f"{response.status_code} {target.method} {target.path.split('/')[-1]}")
    assert response.status_code < 500, response.text
    if len(raw) > ONE_MIB:  # refused for its size before it is read, not for what a field holds
        assert (response.status_code, response.json()["error"]["code"]) == (413, 1003), response.text
    if _unstorable(body) or how == "duplicate":
        assert response.status_code >= 400, response.text
    if response.status_code >= 400:
        envelope = response.json()
        assert envelope["success"] is False
        assert envelope["error"]["status"] == response.status_code
        assert isinstance(envelope["error"]["code"], int)
        assert envelope["error"]["doc_url"].endswith(f"/{envelope['error']['code']}/")
        assert envelope["trace_id"] == response.headers["x-trace-id"]
        assert driver.rows() == before
