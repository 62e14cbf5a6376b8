"""Reactions from our line: tapbacks, custom emoji, stickers and their placement."""

from __future__ import annotations

import httpx
from linq.types import Message, MessageAddReactionResponse

from tests.api.test_errors import assert_envelope
from tests.conftest import World
from tests.support.messaging import Hooks, new_chat
from tests.support.phones import new_phone
from tests.support.receiver import Receiver


async def react(world: World, message_id: str, **body: object) -> httpx.Response:
    return await world.http.post(f"/v3/messages/{message_id}/reactions", json=body)


async def reactions_on(world: World, message_id: str, part: int = 0) -> list[dict[str, object]]:
    message = Message.model_validate((await world.http.get(f"/v3/messages/{message_id}")).json())
    assert message.parts is not None
    return [r.model_dump(mode="json") for r in message.parts[part].reactions or []]


async def test_a_tapback_replaces_the_last_and_can_be_removed(world: World, receiver: Receiver) -> None:
    hooks = await Hooks.subscribe(world, receiver)
    chat = await new_chat(world, [new_phone(1)])
    message_id = chat["message"]["id"]
    response = await react(world, message_id, operation="add", type="love")
    assert response.status_code == 202
    ack = MessageAddReactionResponse.model_validate(response.json())
    assert ack.message == "Reaction processed" and ack.status == "accepted" and ack.trace_id
    assert [(r["type"], r["is_me"]) for r in await reactions_on(world, message_id)] == [("love", True)]
    await react(world, message_id, operation="add", type="custom", custom_emoji="🦄")
    assert [(r["type"], r["custom_emoji"]) for r in await reactions_on(world, message_id)] == [("custom", "🦄")]
    await react(world, message_id, operation="remove", type="custom", custom_emoji="🦄")
    assert await reactions_on(world, message_id) == []
    await hooks.settle()
    await receiver.wait_for_async(5)  # chat.created, love added, love removed + custom added, custom removed
    kinds = [(e.event_type, e.data.reaction_type) for e in hooks.events() if e.event_type.startswith("reaction.")]
    # Deliveries are not ordered (webhooks.md §8.1): compare as sets.
    assert sorted(kinds) == sorted([("reaction.added", "love"), ("reaction.removed", "love"),
                                    ("reaction.added", "custom"), ("reaction.removed", "custom")])  # fmt: skip
    assert all(e.data.is_from_me and e.data.message_id == message_id for e in hooks.events("reaction.added"))


async def test_stickers_are_placed_and_moved_but_never_removed(world: World) -> None:
    chat = await new_chat(world, [new_phone(2)])
    message_id = chat["message"]["id"]
    added = await react(world, message_id, operation="add", type="sticker", emoji="🎉", placement={"x": 0.5})
    assert added.status_code == 202
    (sticker,) = await reactions_on(world, message_id)
    moved = await world.http.patch(f"/v3/messages/{message_id}/reactions/{sticker['id']}",
                                   json={"placement": {"y": -0.5, "scale": 10}})  # fmt: skip
    assert moved.status_code == 200 and moved.json()["success"] is True
    assert_envelope(await react(world, message_id, operation="remove", type="sticker", emoji="🎉"), 400, 1005)
    assert_envelope(await world.http.patch(f"/v3/messages/{message_id}/reactions/{sticker['id']}",
                                           json={"placement": {"x": 3}}), 400, 1005)  # fmt: skip
    assert_envelope(await world.http.patch(f"/v3/messages/{message_id}/reactions/nope", json={"placement": {}}),
                    404, 2001)  # fmt: skip


async def test_reaction_errors(world: World) -> None:
    sms = await new_chat(world, [new_phone(9)])
    rcs = await new_chat(world, [new_phone(7)])
    assert_envelope(await react(world, sms["message"]["id"], operation="add", type="like"), 409, 2017)
    assert (await react(world, rcs["message"]["id"], operation="add", type="like")).status_code == 202
    assert_envelope(await react(world, rcs["message"]["id"], operation="add", type="sticker", emoji="x"), 409, 2017)
    assert_envelope(await react(world, rcs["message"]["id"], operation="add", type="like", part_index=1), 400, 1005)
    assert_envelope(await react(world, rcs["message"]["id"], type="like"), 400, 1001)
    assert_envelope(await react(world, "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10", operation="add", type="like"), 404, 2002)
