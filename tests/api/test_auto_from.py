"""POST /v3/messages: the server picks the line (reuse or new chat), exactly one message per request."""

from __future__ import annotations

import httpx
from linq.types import MessageCreateResponse

from tests.api.test_errors import assert_envelope
from tests.conftest import World
from tests.support.messaging import new_chat, text
from tests.support.phones import new_phone


async def create(world: World, to: list[str], headers: dict[str, str] | None = None, **extra: object) -> httpx.Response:
    return await world.http.post("/v3/messages", json={"to": to, "message": text(), **extra}, headers=headers or {})


async def test_a_new_chat_then_reuse(world: World) -> None:
    alice = new_phone(1)
    first = await world.http.post("/v3/messages", json={"to": [alice], "message": {
        "parts": [{"type": "link", "value": "https://example.com"}]}})  # fmt: skip
    assert first.status_code == 202, first.text
    created = MessageCreateResponse.model_validate(first.json())
    assert created.created_new_chat and created.from_selection.reason == "new_best_number"
    assert created.from_ == world.partner.lines[0] and not created.is_group and created.previous_chat_id is None
    again = MessageCreateResponse.model_validate((await create(world, [alice])).json())
    assert again.chat_id == created.chat_id and not again.created_new_chat
    assert again.from_selection.reason == "reused_active_chat" and again.from_selection.reused_existing_chat


async def test_exclude_from_prefers_another_line_for_new_chats_and_still_reuses(world: World) -> None:
    first, second = world.partner.lines
    bob = new_phone(2)
    picked = await create(world, [bob], exclude_from=[first])
    assert picked.json()["from"] == second
    reused = await create(world, [bob], exclude_from=[second])
    assert reused.json()["chat_id"] == picked.json()["chat_id"]
    assert_envelope(await create(world, [new_phone(3)], exclude_from=[first, second]), 400, 1005)
    assert_envelope(await create(world, [new_phone(3)], exclude_from=["555"]), 400, 1002)
    assert (await create(world, [new_phone(3)], exclude_from=["+14155550000"])).status_code == 202


async def test_the_idempotency_key_header_sends_once(world: World) -> None:
    carol = new_phone(4)
    chat = await new_chat(world, [carol])
    headers = {"Idempotency-Key": "auto-1"}
    one = (await create(world, [carol], headers)).json()
    two = (await create(world, [carol], headers)).json()
    assert one["message"]["id"] == two["message"]["id"] and one["chat_id"] == chat["id"]
    listed = (await world.http.get(f"/v3/chats/{chat['id']}/messages")).json()["messages"]
    assert len(listed) == 2
