"""Messages through the HTTP API in-process: gates, idempotency, order, limits, reads, edits, deletes."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from linq.types import Message

from linq_server.domain import inbound
from linq_server.store.schema import webhook_events
from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.support.messaging import new_chat, send, text
from tests.support.phones import new_phone


async def listed(world: World, chat_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every message of the chat, following cursors, newest first."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await world.http.get(f"/v3/chats/{chat_id}/messages", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found += [Message.model_validate(m).model_dump(mode="json", by_alias=True) for m in body["messages"]]
        cursor = body["next_cursor"]
        if not cursor:
            return found


async def test_messages_list_newest_first_in_pages(world: World) -> None:
    chat = await new_chat(world, [new_phone(1)], text("0"))
    for i in range(1, 7):
        assert (await send(world, chat["id"], text(str(i)))).status_code == 202
    values = [m["parts"][0]["value"] for m in await listed(world, chat["id"], limit=4)]
    assert values == ["6", "5", "4", "3", "2", "1", "0"]
    assert_envelope(await world.http.get(f"/v3/chats/{chat['id']}/messages", params={"cursor": "bogus"}), 400, 1005)


async def test_fifty_concurrent_sends_are_stored_once_each_in_acceptance_order(world: World) -> None:
    world.services.settings.messages_per_minute = 100  # 50 sends in an instant exceed Linq's 30 per minute
    chat = await new_chat(world, [new_phone(2)])
    responses = await asyncio.gather(*(send(world, chat["id"], text(f"m{i}")) for i in range(50)))
    assert [r.status_code for r in responses] == [202] * 50
    ids = [r.json()["message"]["id"] for r in responses]
    messages = await listed(world, chat["id"], limit=7)
    assert sorted(m["id"] for m in messages[:-1]) == sorted(ids)
    assert messages[-1]["id"] == chat["message"]["id"]  # the first message, accepted before all of them


async def test_the_same_idempotency_key_sends_once(world: World) -> None:
    chat = await new_chat(world, [new_phone(3)])
    message = text("once", idempotency_key="order-42")
    responses = await asyncio.gather(*(send(world, chat["id"], message) for _ in range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["message"]["id"] for r in responses}) == 1
    assert [m["parts"][0]["value"] for m in await listed(world, chat["id"])] == ["once", "Hello"]
    await world.worker.run_until_idle()
    async with world.services.db.read() as conn:
        query = sa.select(webhook_events.c.data).where(webhook_events.c.event_type == "message.sent")
        sent = [row.data["id"] for row in await conn.execute(query)]
    assert sent.count(responses[0].json()["message"]["id"]) == 1
    # Delivered since, the key still answers with the original response (api-core §14).
    first = responses[0].json()
    assert (await world.http.get(f"/v3/messages/{first['message']['id']}")).json()["delivery_status"] == "delivered"
    repeated = await send(world, chat["id"], message)
    assert repeated.status_code == 202 and repeated.json() == first and first["message"]["delivery_status"] == "queued"


async def test_a_deleted_message_is_gone_and_its_key_never_resends(world: World) -> None:
    chat = await new_chat(world, [new_phone(4)])
    sent = (await send(world, chat["id"], text("bye", idempotency_key="k-del"))).json()["message"]
    assert (await world.http.get(f"/v3/messages/{sent['id']}")).status_code == 200
    deleted = await world.http.delete(f"/v3/messages/{sent['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_envelope(await world.http.get(f"/v3/messages/{sent['id']}"), 404, 2002)
    assert_envelope(await world.http.delete(f"/v3/messages/{sent['id']}"), 404, 2002)
    assert [m["id"] for m in await listed(world, chat["id"])] == [chat["message"]["id"]]
    assert_envelope(await send(world, chat["id"], text("bye", idempotency_key="k-del")), 404, 2002)


async def test_messages_of_another_partner_are_not_found(world: World) -> None:
    chat = await new_chat(world, [new_phone(5)])
    other = await make_partner(world.services.db)
    headers = {"Authorization": f"Bearer {other.api_key}"}
    message_id = chat["message"]["id"]
    for response in (
        await world.http.get(f"/v3/messages/{message_id}", headers=headers),
        await world.http.get(f"/v3/messages/{message_id}/thread", headers=headers),
        await world.http.delete(f"/v3/messages/{message_id}", headers=headers),
        await world.http.patch(f"/v3/messages/{message_id}", json={"text": "x"}, headers=headers),
    ):
        assert_envelope(response, 404, 2002)
    assert_envelope(await send(world, chat["id"]) if False else await world.http.post(
        f"/v3/chats/{chat['id']}/messages", json={"message": text()}, headers=headers), 404, 2001)  # fmt: skip
    assert_envelope(await world.http.get(f"/v3/chats/{chat['id']}/messages", headers=headers), 404, 2001)
    assert_envelope(await world.http.get("/v3/messages/not-a-uuid"), 404, 2002)


async def test_content_errors(world: World) -> None:
    dm = await new_chat(world, [new_phone(1)])
    group = await new_chat(world, [new_phone(1), new_phone(2)])
    mention = {"parts": [{"type": "text", "value": "Kevin", "mention": "+14155550123"}]}
    app_card = {"parts": [{"type": "imessage_app", "app": {"bundle_id": "a.b", "name": "A", "team_id": "ABCDE12345"},
                           "layout": {"caption": "Hi"}}], "preferred_service": "SMS"}  # fmt: skip
    cases: list[tuple[Any, int, int]] = [
        ({"parts": []}, 400, 1004),
        ({"parts": [{"type": "text", "value": "a"}, {"type": "text", "value": "b"}]}, 400, 1004),
        ({"parts": [{"type": "media", "attachment_id": "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10"}]}, 404, 2003),
        (text(reply_to={"message_id": "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10"}), 404, 2002),
        (mention, 409, 2023),
        (
            {
                "parts": [
                    {
                        "type": "imessage_app",
                        "app": {"bundle_id": "a.b", "name": "A", "team_id": "bad"},
                        "layout": {"caption": "Hi"},
                    }
                ]
            },
            400,
            1008,
        ),
        (app_card, 409, 2018),
        (text(preferred_service="Fax"), 400, 1005),
    ]
    for message, status, code in cases:
        assert_envelope(await send(world, dm["id"], message), status, code)
    assert (await send(world, group["id"], mention)).status_code == 202
    assert_envelope(await world.http.post(f"/v3/chats/{dm['id']}/messages", json={}), 400, 1001)
    assert_envelope(await world.http.post(f"/v3/chats/{dm['id']}/messages", content=b"{"), 400, 1003)


async def test_replies_form_a_thread(world: World) -> None:
    chat = await new_chat(world, [new_phone(1)])
    root = chat["message"]["id"]
    first = (await send(world, chat["id"], text("r1", reply_to={"message_id": root}))).json()["message"]
    second = (await send(world, chat["id"], text("r2", reply_to={"message_id": first["id"]}))).json()["message"]
    await send(world, chat["id"], text("not threaded"))
    for anchor in (root, first["id"], second["id"]):
        response = await world.http.get(f"/v3/messages/{anchor}/thread")
        assert [m["id"] for m in response.json()["messages"]] == [root, first["id"], second["id"]]
    desc = await world.http.get(f"/v3/messages/{root}/thread", params={"order": "desc", "limit": 2})
    body = desc.json()
    assert [m["id"] for m in body["messages"]] == [second["id"], first["id"]] and body["next_cursor"]
    rest = await world.http.get(f"/v3/messages/{root}/thread", params={"order": "desc", "cursor": body["next_cursor"]})
    assert [m["id"] for m in rest.json()["messages"]] == [root] and rest.json()["next_cursor"] is None
    assert_envelope(await send(world, chat["id"], text(reply_to={"message_id": root, "part_index": 3})), 400, 1005)


async def test_edit_own_imessage_within_limits(world: World) -> None:
    chat = await new_chat(world, [new_phone(1)])
    message_id = chat["message"]["id"]
    for i in range(5):
        response = await world.http.patch(f"/v3/messages/{message_id}", json={"text": f"edit {i}"})
        assert response.status_code == 200, response.text
        assert Message.model_validate(response.json()).parts[0].value == f"edit {i}"  # type: ignore[index,union-attr]
    assert_envelope(await world.http.patch(f"/v3/messages/{message_id}", json={"text": "six"}), 409, 2015)
    late = (await send(world, chat["id"])).json()["message"]["id"]
    world.clock.advance(15 * 60 + 1)
    assert_envelope(await world.http.patch(f"/v3/messages/{late}", json={"text": "late"}), 409, 2015)
    assert_envelope(await world.http.patch(f"/v3/messages/{late}", json={}), 400, 1001)
    assert_envelope(await world.http.patch(f"/v3/messages/{late}", json={"text": "x", "part_index": 1}), 400, 1005)
    sms = await new_chat(world, [new_phone(9)])
    assert_envelope(await world.http.patch(f"/v3/messages/{sms['message']['id']}", json={"text": "x"}), 409, 2017)
    received = await inbound.receive_message(world.services, world.partner.id, line=world.partner.lines[0],
                                             sender=new_phone(1), parts=[{"type": "text", "value": "hi"}])  # fmt: skip
    assert_envelope(await world.http.patch(f"/v3/messages/{received.id}", json={"text": "x"}), 409, 2015)


async def test_rate_limit_is_exact_under_concurrency(world: World) -> None:
    chat = await new_chat(world, [new_phone(1)])  # the first of the 30
    world.clock.advance(10)
    responses = await asyncio.gather(*(send(world, chat["id"], text(f"m{i}")) for i in range(64)))
    accepted = [r for r in responses if r.status_code == 202]
    limited = [r for r in responses if r.status_code == 429]
    assert len(accepted) == 29 and len(limited) == 35
    for response in limited:
        assert_envelope(response, 429, 1007)
        assert response.headers["retry-after"] == "50" and response.json()["error"]["retry_after"] == 50
    world.clock.advance(49)
    assert_envelope(await send(world, chat["id"]), 429, 1007)
    world.clock.advance(1)
    assert (await send(world, chat["id"])).status_code == 202
    assert len(await listed(world, chat["id"])) == 31


async def test_opt_out_keyword_blocks_direct_sends_until_override_or_opt_in(world: World) -> None:
    handle = new_phone(1)
    dm = await new_chat(world, [handle])
    group = await new_chat(world, [handle, new_phone(2)])
    line = world.partner.lines[0]
    await inbound.receive_message(world.services, world.partner.id, line=line, sender=handle,
                                  parts=[{"type": "text", "value": "STOP"}], chat_id=group["id"])  # fmt: skip
    assert (await send(world, dm["id"])).status_code == 202  # a keyword in a group marks nothing
    stop = await inbound.receive_message(world.services, world.partner.id, line=line, sender=handle,
                                         parts=[{"type": "text", "value": "STOP"}])  # fmt: skip
    assert stop.chat_id == dm["id"]
    assert_envelope(await send(world, dm["id"]), 403, 2024)
    assert_envelope(
        await world.http.post("/v3/chats", json={"from": line, "to": [handle], "message": text()}), 403, 2024
    )
    assert (await send(world, dm["id"], override_optout=True)).status_code == 202
    assert (await send(world, group["id"])).status_code == 202
    assert_envelope(await send(world, dm["id"]), 403, 2024)  # the override was for that request only
    await inbound.receive_message(world.services, world.partner.id, line=line, sender=handle,
                                  parts=[{"type": "text", "value": "ok, start again"}])  # fmt: skip
    assert (await send(world, dm["id"])).status_code == 202


async def test_an_inbound_message_starts_a_chat(world: World) -> None:
    stranger = new_phone(7)
    message = await inbound.receive_message(world.services, world.partner.id, line=world.partner.lines[0],
                                            sender=stranger, parts=[{"type": "text", "value": "hi"}])  # fmt: skip
    chat = (await world.http.get(f"/v3/chats/{message.chat_id}")).json()
    assert chat["is_group"] is False and [h["handle"] for h in chat["handles"]][1] == stranger
    fetched = Message.model_validate((await world.http.get(f"/v3/messages/{message.id}")).json())
    assert fetched.delivery_status == "received" and not fetched.is_from_me
    assert fetched.from_handle is not None and fetched.from_handle.handle == stranger
    again = await inbound.receive_message(world.services, world.partner.id, line=world.partner.lines[0],
                                          sender=stranger, parts=[{"type": "text", "value": "again"}])  # fmt: skip
    assert again.chat_id == message.chat_id


async def test_a_chat_our_line_left_takes_no_messages(world: World) -> None:
    group = await new_chat(world, [new_phone(1), new_phone(2), new_phone(3)])
    assert (await world.http.post(f"/v3/chats/{group['id']}/leave")).status_code == 202
    assert_envelope(await send(world, group["id"]), 409, 2013)  # already while the leave is queued
    world.clock.advance(1)
    await world.worker.run_until_idle()
    response = await send(world, group["id"])
    assert_envelope(response, 409, 2013)
    assert response.headers["x-should-retry"] == "false"
    message_id = group["message"]["id"]
    reaction = await world.http.post(f"/v3/messages/{message_id}/reactions", json={"operation": "add", "type": "like"})
    assert_envelope(reaction, 409, 2013)
