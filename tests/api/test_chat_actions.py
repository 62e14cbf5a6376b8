"""Typing indicators and contact cards through the HTTP API in-process, on a clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest
from linq.types.contact_card_retrieve_response import ContactCardRetrieveResponse
from linq.types.set_contact_card import SetContactCard

from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.support.phones import new_phone


async def chat_with(world: World, *handles: str) -> str:
    body = {
        "from": world.partner.lines[0],
        "to": list(handles),
        "message": {"parts": [{"type": "text", "value": "hi"}]},
    }
    response = await world.http.post("/v3/chats", json=body)
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["chat"]["id"]
    return chat_id


async def typing_shown(world: World, chat_id: str) -> dict[str, Any]:
    response = await world.http.get(f"http://testserver/sandbox/chats/{chat_id}/typing")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def left_group(world: World) -> str:
    chat_id = await chat_with(world, new_phone(1), new_phone(2), new_phone(3))
    assert (await world.http.post(f"/v3/chats/{chat_id}/leave")).status_code == 202
    return chat_id


# Typing


async def test_typing_starts_stops_and_lapses_after_90_seconds(world: World) -> None:
    chat_id = await chat_with(world, new_phone(1))
    started = await world.http.post(f"/v3/chats/{chat_id}/typing")
    assert started.status_code == 204 and started.content == b""
    assert (await typing_shown(world, chat_id))["is_typing"] is True
    stopped = await world.http.delete(f"/v3/chats/{chat_id}/typing")
    assert stopped.status_code == 204 and stopped.content == b""
    assert (await typing_shown(world, chat_id))["is_typing"] is False

    await world.http.post(f"/v3/chats/{chat_id}/typing")
    world.clock.advance(60)
    await world.http.post(f"/v3/chats/{chat_id}/typing")  # a refresh keeps it up
    world.clock.advance(89)
    assert (await typing_shown(world, chat_id))["is_typing"] is True
    world.clock.advance(1)
    assert (await typing_shown(world, chat_id)) == {"chat_id": chat_id, "is_typing": False, "expires_at": None}


@pytest.mark.parametrize("last_digit", [7, 9])  # an Android phone (RCS), a basic phone (SMS)
async def test_typing_off_imessage_is_accepted_and_not_shown(world: World, last_digit: int) -> None:
    chat_id = await chat_with(world, new_phone(last_digit))
    assert (await world.http.post(f"/v3/chats/{chat_id}/typing")).status_code == 204
    assert (await typing_shown(world, chat_id))["is_typing"] is False


async def test_typing_in_a_group_is_shown(world: World) -> None:
    chat_id = await chat_with(world, new_phone(1), new_phone(2))
    assert (await world.http.post(f"/v3/chats/{chat_id}/typing")).status_code == 204
    assert (await typing_shown(world, chat_id))["is_typing"] is True


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_typing_errors(world: World, method: str) -> None:
    chat_id = await chat_with(world, new_phone(1))
    other = await make_partner(world.services.db)
    foreign = {"Authorization": f"Bearer {other.api_key}"}
    assert_envelope(await world.http.request(method, f"/v3/chats/{chat_id}/typing", headers=foreign), 404, 2001)
    assert_envelope(await world.http.request(method, "/v3/chats/not-a-uuid/typing"), 404, 2001)
    no_key = {"Authorization": ""}
    assert_envelope(await world.http.request(method, f"/v3/chats/{chat_id}/typing", headers=no_key), 401, 2004)
    left = await left_group(world)
    assert_envelope(await world.http.request(method, f"/v3/chats/{left}/typing"), 409, 2013)


# Contact cards


async def create_card(world: World, line: str | None = None, **fields: Any) -> Any:
    body = {"phone_number": line or world.partner.lines[0], "first_name": "Ada", **fields}
    return await world.http.post("/v3/contact_card", json=body)


async def test_create_read_update_a_card(world: World) -> None:
    line = world.partner.lines[0]
    created = await create_card(world, last_name="Lovelace")
    assert created.status_code == 200
    card = SetContactCard.model_validate(created.json())
    assert (card.phone_number, card.first_name, card.last_name, card.is_active) == (line, "Ada", "Lovelace", True)

    one = ContactCardRetrieveResponse.model_validate(
        (await world.http.get(f"/v3/contact_card?phone_number={line.replace('+', '%2B')}")).json()
    )
    assert [c.first_name for c in one.contact_cards] == ["Ada"]
    updated = await world.http.patch(
        "/v3/contact_card", params={"phone_number": line}, json={"image_url": "https://example.com/ada.png"}
    )
    assert updated.status_code == 200
    assert updated.json() == {
        "phone_number": line, "first_name": "Ada", "last_name": "Lovelace",
        "image_url": "https://example.com/ada.png", "is_active": True,
    }  # fmt: skip
    every = (await world.http.get("/v3/contact_card")).json()["contact_cards"]
    assert [c["phone_number"] for c in every] == [line]


async def test_card_errors(world: World) -> None:
    line, second = world.partner.lines
    await create_card(world)
    assert_envelope(await create_card(world), 409, 2014, "A contact card already exists for this phone number")
    assert (await create_card(world)).headers["x-should-retry"] == "false"
    patch = await world.http.patch("/v3/contact_card", params={"phone_number": second}, json={"first_name": "B"})
    assert_envelope(patch, 404, 2012, "Contact card not found")
    assert_envelope(await world.http.get("/v3/contact_card", params={"phone_number": second}), 404, 2012)
    assert_envelope(await create_card(world, "12025550100"), 400, 1002)
    assert_envelope(await create_card(world, new_phone(0)), 403, 2006)
    assert_envelope(await world.http.post("/v3/contact_card", json={"phone_number": second}), 400, 1001)
    assert_envelope(await create_card(world, second, first_name="  "), 400, 1005)
    assert_envelope(await create_card(world, second, image_url="ftp://x"), 400, 1005)
    other = await make_partner(world.services.db)
    foreign = {"Authorization": f"Bearer {other.api_key}"}
    assert_envelope(await world.http.get("/v3/contact_card", params={"phone_number": line}, headers=foreign), 403, 2006)
    assert (await world.http.get("/v3/contact_card", headers=foreign)).json() == {"contact_cards": []}


async def test_card_writes_share_3_per_10_minutes_per_line(world: World) -> None:
    line = world.partner.lines[0]
    await create_card(world)
    for name in ("B", "C"):
        assert (
            await world.http.patch("/v3/contact_card", params={"phone_number": line}, json={"first_name": name})
        ).status_code == 200
    limited = await world.http.patch("/v3/contact_card", params={"phone_number": line}, json={"first_name": "D"})
    assert_envelope(limited, 429, 1007)
    assert limited.headers["retry-after"] == "600" and limited.json()["error"]["retry_after"] == 600
    world.clock.advance(600)
    assert (
        await world.http.patch("/v3/contact_card", params={"phone_number": line}, json={"first_name": "D"})
    ).status_code == 200


async def test_share_a_card_once_per_chat_per_5_minutes(world: World) -> None:
    chat_id = await chat_with(world, new_phone(1))
    assert_envelope(
        await world.http.post(f"/v3/chats/{chat_id}/share_contact_card"), 404, 2012, "Contact card not found"
    )
    await create_card(world)
    shared = await world.http.post(f"/v3/chats/{chat_id}/share_contact_card")
    assert shared.status_code == 204 and shared.content == b""
    world.clock.advance(299)
    again = await world.http.post(f"/v3/chats/{chat_id}/share_contact_card")
    assert_envelope(again, 429, 1007, "Rate limited. Try again in 1 seconds.")
    assert again.headers["retry-after"] == "1"
    other_chat = await chat_with(world, new_phone(2))
    assert (await world.http.post(f"/v3/chats/{other_chat}/share_contact_card")).status_code == 204
    world.clock.advance(1)
    assert (await world.http.post(f"/v3/chats/{chat_id}/share_contact_card")).status_code == 204


async def test_share_errors(world: World) -> None:
    await create_card(world)
    chat_id = await chat_with(world, new_phone(1))
    other = await make_partner(world.services.db)
    foreign = {"Authorization": f"Bearer {other.api_key}"}
    assert_envelope(await world.http.post(f"/v3/chats/{chat_id}/share_contact_card", headers=foreign), 404, 2001)
    assert_envelope(await world.http.post("/v3/chats/not-a-uuid/share_contact_card"), 404, 2001)
    assert_envelope(await world.http.post(f"/v3/chats/{await left_group(world)}/share_contact_card"), 409, 2013)


async def test_card_events_are_emitted(world: World) -> None:
    from tests.api.test_chats import events

    line = world.partner.lines[0]
    await create_card(world)
    await world.http.patch("/v3/contact_card", params={"phone_number": line}, json={"last_name": "L"})
    (created,) = await events(world, "contact_card.created")
    assert created["contact_card"]["first_name"] == "Ada" and created["phone_number"] == line
    (updated,) = await events(world, "contact_card.updated")
    assert updated["change"] == {"last_name": {"from": None, "to": "L"}}
