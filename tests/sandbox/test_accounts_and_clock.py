"""The sandbox's accounts (partners by admin key, reset) and its manual clock, in-process."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from linq_server.app import create_app
from linq_server.config import Settings
from linq_server.domain import inbound
from tests.api.test_errors import assert_envelope
from tests.conftest import PartnerAccount, World, make_partner
from tests.support.phones import new_phone

ADMIN_KEY = "admin-secret-for-tests"


def client(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)


async def test_the_manual_clock_moves_only_when_advanced(world: World) -> None:
    before = (await world.http.get("http://testserver/sandbox/clock")).json()["now"]
    assert (await world.http.get("http://testserver/sandbox/clock")).json()["now"] == before
    moved = await world.http.post("http://testserver/sandbox/clock/advance", json={"seconds": 90})
    assert moved.status_code == 200
    assert moved.json()["now"] > before
    for seconds in (0, -5, 86_401):
        bad = await world.http.post("http://testserver/sandbox/clock/advance", json={"seconds": seconds})
        assert_envelope(bad, 400, 1005)


async def test_a_real_clock_cannot_be_moved(app: FastAPI, partner: PartnerAccount) -> None:
    async with client(app, partner.api_key) as http:
        assert_envelope(await http.get("/sandbox/clock"), 409, 2015)
        assert_envelope(await http.post("/sandbox/clock/advance", json={"seconds": 1}), 409, 2015)


async def test_creating_partners_needs_the_admin_key(settings: Settings, partner: PartnerAccount) -> None:
    refused = create_app(settings)
    async with refused.router.lifespan_context(refused), client(refused, partner.api_key) as http:
        assert_envelope(await http.post("/sandbox/partners", json={}), 403, 2005)

    app = create_app(settings.model_copy(update={"admin_key": ADMIN_KEY}))
    async with app.router.lifespan_context(app):
        async with client(app, "not-the-admin-key") as http:
            assert_envelope(await http.post("/sandbox/partners", json={}), 401, 2004)
        async with client(app, partner.api_key) as http:
            assert_envelope(await http.post("/sandbox/partners", json={}), 401, 2004)
        async with client(app, ADMIN_KEY) as http:
            created = await http.post("/sandbox/partners")
            assert_envelope(await http.post("/sandbox/partners", json={"lines": 11}), 400, 1005)
            chosen = [new_phone(0)]
            mine = await http.post("/sandbox/partners", json={"phone_numbers": chosen})
            taken = await http.post("/sandbox/partners", json={"phone_numbers": chosen})
        assert created.status_code == 201 and mine.status_code == 201
        assert_envelope(taken, 400, 1005)
        assert mine.json()["phone_numbers"] == chosen
        body = created.json()
        assert set(body) == {"partner_id", "api_key", "phone_numbers"} and len(body["phone_numbers"]) == 2
        async with client(app, body["api_key"]) as http:
            lines = (await http.get("/api/partner/v3/phone_numbers")).json()["phone_numbers"]
        assert [line["phone_number"] for line in lines] == body["phone_numbers"]


async def test_reset_keeps_only_the_partner_its_key_and_lines(world: World) -> None:
    other = await world_partner_with_a_chat(world)
    alice, bob = new_phone(1), new_phone(2)
    body = {"from": world.partner.lines[0], "to": [alice, bob], "message": {"parts": [{"type": "text", "value": "hi"}]}}
    chat = (await world.http.post("/v3/chats", json=body)).json()["chat"]
    await world.subscribe("http://127.0.0.1:9/hook", ["chat.created", "participant.added"])
    await world.http.put(f"http://testserver/sandbox/handles/{alice}", json={"services": ["SMS"]})
    await world.http.put("http://testserver/sandbox/faults", json={"rules": [], "webhooks": {"delay_ms": 5}})

    reset = await world.http.post("http://testserver/sandbox/reset")
    assert reset.status_code == 204
    assert (await world.http.get("/v3/chats")).json()["chats"] == []
    assert_envelope(await world.http.get(f"/v3/chats/{chat['id']}"), 404, 2001)
    assert (await world.http.get("/v3/webhook-subscriptions")).json()["subscriptions"] == []
    assert (await world.http.get("http://testserver/sandbox/deliveries")).json()["deliveries"] == []
    assert (await world.http.get(f"http://testserver/sandbox/handles/{alice}")).json()["services"] != ["SMS"]
    lines = (await world.http.get("/v3/phone_numbers")).json()["phone_numbers"]
    assert [line["phone_number"] for line in lines] == world.partner.lines
    # The other partner's sandbox is untouched.
    async with client(world.app, other.api_key) as http:
        assert len((await http.get("/api/partner/v3/chats")).json()["chats"]) == 1


async def world_partner_with_a_chat(world: World) -> PartnerAccount:
    other = await make_partner(world.services.db)
    body = {"from": other.lines[0], "to": [new_phone(1)], "message": {"parts": [{"type": "text", "value": "hi"}]}}
    async with client(world.app, other.api_key) as http:
        assert (await http.post("/api/partner/v3/chats", json=body)).status_code == 201
    return other


async def test_outside_the_sandbox_no_control_route_is_served(settings: Settings, partner: PartnerAccount) -> None:
    production = create_app(settings.model_copy(update={"sandbox": False, "admin_key": ADMIN_KEY}))
    async with production.router.lifespan_context(production), client(production, partner.api_key) as http:
        for method, path in [
            ("GET", "/sandbox/clock"), ("PUT", "/sandbox/faults"), ("GET", "/sandbox/deliveries"),
            ("POST", "/sandbox/reset"), ("POST", "/sandbox/partners"), ("GET", "/sandbox/handles/+14155550100"),
        ]:  # fmt: skip
            assert_envelope(await http.request(method, path, json={}), 404, 2001)
        assert (await http.get("/api/partner/v3/phone_numbers")).status_code == 200


async def test_reset_also_clears_attachments_contact_cards_opt_outs_and_rate_windows(world: World) -> None:
    line = world.partner.lines[0]
    pending = await world.http.post(
        "/v3/attachments", json={"filename": "a.png", "content_type": "image/png", "size_bytes": 3}
    )
    assert pending.status_code == 200, pending.text
    card = await world.http.post("/v3/contact_card", json={"phone_number": line, "first_name": "Ada"})
    assert card.status_code in (200, 201), card.text
    checked_address = new_phone(1)
    checked = await world.http.post("/v3/capability/check_imessage", json={"address": checked_address})
    assert checked.status_code == 200, checked.text
    opted_out = new_phone(2)
    await receive_from(world, opted_out, "STOP")

    assert (await world.http.post("http://testserver/sandbox/reset")).status_code == 204

    assert_envelope(await world.http.get(f"/v3/attachments/{pending.json()['attachment_id']}"), 404, 2003)
    assert_envelope(await world.http.get("/v3/contact_card", params={"phone_number": line}), 404, 2012)
    # The capability window is gone: the same check at once is answered, not 429.
    again = await world.http.post("/v3/capability/check_imessage", json={"address": checked_address})
    assert again.status_code == 200, again.text
    # The opt-out is gone: a send to that handle is accepted.
    body = {"from": line, "to": [opted_out], "message": {"parts": [{"type": "text", "value": "hi again"}]}}
    sent = await world.http.post("/v3/chats", json=body)
    assert sent.status_code == 201, sent.text


async def receive_from(world: World, handle: str, text: str) -> None:
    parts = [{"type": "text", "value": text}]
    await inbound.receive_message(
        world.services, world.partner.id, line=world.partner.lines[0], sender=handle, parts=parts
    )
