"""Handles acting on their own phones (the far side), in-process with a real worker and receiver."""

from __future__ import annotations

import json

import pytest

from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.sandbox.test_accounts_and_clock import client
from tests.support.phones import new_phone
from tests.support.receiver import Receiver

TEXT = {"parts": [{"type": "text", "value": "hi"}]}


async def group(world: World, members: list[str]) -> str:
    body = {"from": world.partner.lines[0], "to": members, "message": TEXT}
    response = await world.http.post("/v3/chats", json=body)
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["chat"]["id"]
    return chat_id


async def leave(world: World, handle: str, chat_id: str) -> object:
    return await world.http.post(f"http://testserver/sandbox/handles/{handle}/leave", json={"chat_id": chat_id})


async def test_a_member_leaves_and_the_partner_hears_participant_removed(world: World, receiver: Receiver) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    chat_id = await group(world, [alice, bob, carol])
    await world.subscribe(receiver.url, ["participant.removed"])
    response = await leave(world, bob, chat_id)
    assert response.status_code == 202 and response.json()["status"] == "accepted"  # type: ignore[attr-defined]
    assert (await leave(world, bob, chat_id)).status_code == 202  # the same leave, queued once
    await world.worker.run_until_idle()

    (hit,) = await receiver.wait_for_async(1)
    event = json.loads(hit.body)
    assert event["event_type"] == "participant.removed"
    assert event["data"]["handle"] == bob and event["data"]["participant"]["status"] == "left"
    handles = {h["handle"]: h for h in (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"]}
    assert handles[bob]["status"] == "left" and handles[bob]["left_at"]
    assert handles[alice]["status"] == "active"
    assert_envelope(await leave(world, bob, chat_id), 409, 2015)  # gone already


@pytest.mark.parametrize("case", ["dm", "me", "stranger", "sms", "foreign", "no-chat", "bad-handle"])
async def test_leaves_that_cannot_happen_answer_the_envelope(world: World, case: str) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    if case == "dm":
        assert_envelope(await leave(world, alice, await group(world, [alice])), 409, 2015)
    elif case == "me":
        assert_envelope(await leave(world, world.partner.lines[0], await group(world, [alice, bob])), 409, 2015)
    elif case == "stranger":
        assert_envelope(await leave(world, new_phone(4), await group(world, [alice, bob])), 409, 2015)
    elif case == "sms":
        chat_id = await group(world, [new_phone(9), bob, carol])  # a basic phone makes it an SMS group
        assert_envelope(await leave(world, bob, chat_id), 409, 2017)
    elif case == "foreign":
        chat_id = await group(world, [alice, bob, carol])
        other = await make_partner(world.services.db)
        async with client(world.app, other.api_key) as http:
            response = await http.post(f"/sandbox/handles/{bob}/leave", json={"chat_id": chat_id})
        assert_envelope(response, 404, 2001)
    elif case == "no-chat":
        assert_envelope(await leave(world, alice, "nope"), 404, 2001)
    else:
        assert_envelope(await leave(world, "not a handle", await group(world, [alice, bob])), 400, 1002)


async def test_a_member_types_and_stops(world: World, receiver: Receiver) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = await group(world, [alice, bob])
    await world.subscribe(receiver.url, ["chat.typing_indicator.started", "chat.typing_indicator.stopped"])
    for typing in (True, False):
        response = await world.http.post(
            f"http://testserver/sandbox/handles/{alice}/typing", json={"chat_id": chat_id, "typing": typing}
        )
        assert response.status_code == 204
    await world.worker.run_until_idle()
    events = {json.loads(hit.body)["event_type"]: json.loads(hit.body) for hit in await receiver.wait_for_async(2)}
    started = events["chat.typing_indicator.started"]
    assert set(events) == {"chat.typing_indicator.started", "chat.typing_indicator.stopped"}
    assert started["data"]["chat_id"] == chat_id and started["data"]["actor_handle"]["handle"] == alice


async def test_typing_needs_a_member_and_a_service_that_shows_it(world: World) -> None:
    alice, bob = new_phone(1), new_phone(2)
    chat_id = await group(world, [alice, bob])
    basic_phone = new_phone(9)
    sms_chat = await group(world, [basic_phone])

    async def type_in(handle: str, chat: str) -> object:
        body = {"chat_id": chat, "typing": True}
        return await world.http.post(f"http://testserver/sandbox/handles/{handle}/typing", json=body)

    assert_envelope(await type_in(new_phone(3), chat_id), 409, 2015)
    assert_envelope(await type_in(world.partner.lines[0], chat_id), 409, 2015)
    assert_envelope(await type_in(basic_phone, sms_chat), 409, 2017)
    missing = await world.http.post(f"http://testserver/sandbox/handles/{alice}/typing", json={"chat_id": chat_id})
    assert_envelope(missing, 400, 1001)


async def test_patch_changes_only_the_given_settings_of_a_handle(world: World) -> None:
    handle = new_phone(1)
    put = await world.http.put(
        f"http://testserver/sandbox/handles/{handle}",
        json={"services": ["SMS"], "blocked": True, "delivery_ms": 250},
    )
    assert put.status_code == 200, put.text
    rule = {"match": "hello", "reply": "hi there", "after_ms": 100}

    patched = await world.http.patch(f"http://testserver/sandbox/handles/{handle}", json={"replies": [rule]})

    assert patched.status_code == 200, patched.text
    state = patched.json()
    assert (state["services"], state["blocked"], state["delivery_ms"]) == (["SMS"], True, 250)
    assert state["replies"] == [rule]
    assert (await world.http.get(f"http://testserver/sandbox/handles/{handle}")).json() == state


@pytest.mark.parametrize(
    "changes", [{"services": None}, {"replies": None}, {"blocked": "yes"}, {"delivery_ms": True}, {"offline": None}]
)
async def test_patch_refuses_what_put_refuses_and_changes_nothing(world: World, changes: dict[str, object]) -> None:
    handle = new_phone(1)
    before = (await world.http.put(f"http://testserver/sandbox/handles/{handle}", json={"services": ["SMS"]})).json()
    assert_envelope(await world.http.patch(f"http://testserver/sandbox/handles/{handle}", json=changes), 400, 1005)
    assert (await world.http.get(f"http://testserver/sandbox/handles/{handle}")).json() == before
