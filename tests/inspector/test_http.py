"""The inspector over plain HTTP, in-process: sign-in and its cookie, CSRF refusals, and that a partner
sees nothing of another's (chats, deliveries, actions)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from linq_server.config import Settings
from linq_server.inspector.sessions import COOKIE
from tests.conftest import PartnerAccount, World, make_partner, open_world
from tests.support.phones import new_phone
from tests.support.receiver import Receiver

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def browser(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client of the inspector, signed in as nobody yet."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://testserver") as http:
        yield http


async def signed_in(http: httpx.AsyncClient, partner: PartnerAccount) -> str:
    """Sign in with the partner's key; returns the CSRF token of the session's pages."""
    response = await http.post("/inspector/sign-in", data={"api_key": partner.api_key})
    assert response.status_code == 303, response.text
    page = await http.get("/inspector/chats")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def group_chat(world: World) -> str:
    body = {
        "from": world.partner.lines[0],
        "to": [new_phone(1), new_phone(2), new_phone(3)],
        "message": {"parts": [{"type": "text", "value": "hello from the line"}]},
    }
    response = await world.http.post("/v3/chats", json=body)
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["chat"]["id"]
    return chat_id


async def test_pages_need_a_session_and_a_wrong_key_signs_nobody_in(world: World) -> None:
    async with browser(world) as http:
        for path in ("/inspector/chats", "/inspector/webhooks", "/inspector/handles", "/inspector"):
            response = await http.get(path)
            assert response.status_code in (303, 307), path
        assert (await http.get("/inspector/chats", follow_redirects=True)).url.path == "/inspector/sign-in"
        assert (await http.get("/inspector/events")).status_code == 401
        refused = await http.post("/inspector/sign-in", data={"api_key": "not-a-key"})
        assert refused.status_code == 401
        assert COOKIE not in http.cookies
        http.cookies.set(COOKIE, "forged.4102444800.nonce.signature", path="/inspector")
        assert (await http.get("/inspector/chats")).status_code == 303


async def test_sign_in_sets_a_strict_http_only_cookie_that_holds_no_key(world: World) -> None:
    async with browser(world) as http:
        response = await http.post("/inspector/sign-in", data={"api_key": world.partner.api_key})
        assert response.status_code == 303
        assert response.headers["location"] == "/inspector/chats"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/inspector" in cookie
        assert world.partner.api_key not in cookie
        page = await http.get("/inspector/chats")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_posts_without_this_sessions_csrf_token_are_refused(world: World) -> None:
    chat_id = await group_chat(world)
    async with browser(world) as http, browser(world) as other:
        token = await signed_in(http, world.partner)
        other_token = await signed_in(other, world.partner)
        assert other_token != token  # a token belongs to one session
        send = f"/inspector/chats/{chat_id}/send"
        for data in (
            {"text": "no token"},
            {"text": "wrong", "csrf_token": "x"},
            {"text": "other", "csrf_token": other_token},
        ):
            assert (await http.post(send, data=data)).status_code == 403, data
        cross_site = await http.post(
            send, data={"text": "from elsewhere", "csrf_token": token}, headers={"origin": "https://evil.example"}
        )
        assert cross_site.status_code == 403
        assert (await http.post("/inspector/sign-out", data={})).status_code == 403
        listed = await world.http.get(f"/v3/chats/{chat_id}/messages")
        assert [m["parts"][0]["value"] for m in listed.json()["messages"]] == ["hello from the line"]

        accepted = await http.post(send, data={"text": "from the inspector", "csrf_token": token})
        assert accepted.status_code == 303
        listed = await world.http.get(f"/v3/chats/{chat_id}/messages")
        assert listed.json()["messages"][0]["parts"][0]["value"] == "from the inspector"
        page = await http.get(f"/inspector/chats/{chat_id}")
        assert "from the inspector" in page.text


async def test_sign_out_ends_the_session(world: World) -> None:
    async with browser(world) as http:
        token = await signed_in(http, world.partner)
        response = await http.post("/inspector/sign-out", data={"csrf_token": token})
        assert response.status_code == 303
        assert COOKIE not in http.cookies
        assert (await http.get("/inspector/chats")).status_code == 303


async def test_another_partner_sees_none_of_it(world: World) -> None:
    await world.subscribe("http://127.0.0.1:9/hook", ["message.sent"])
    chat_id = await group_chat(world)
    await world.worker.run_until_idle()
    deliveries = await world.http.get("http://testserver/sandbox/deliveries")
    delivery_id = deliveries.json()["deliveries"][0]["id"]
    stranger = await make_partner(world.services.db)
    async with browser(world) as mine, browser(world) as theirs:
        await signed_in(mine, world.partner)
        assert chat_id in (await mine.get("/inspector/chats")).text
        assert (await mine.get(f"/inspector/deliveries/{delivery_id}")).status_code == 200

        token = await signed_in(theirs, stranger)
        assert chat_id not in (await theirs.get("/inspector/chats")).text
        assert "127.0.0.1:9/hook" not in (await theirs.get("/inspector/webhooks")).text
        assert (await theirs.get(f"/inspector/chats/{chat_id}")).status_code == 404
        assert (await theirs.get(f"/inspector/deliveries/{delivery_id}")).status_code == 404
        for path, data in (
            (f"/inspector/chats/{chat_id}/send", {"text": "intruding"}),
            (f"/inspector/chats/{chat_id}/participants", {"handle": new_phone(1), "action": "add"}),
            (f"/inspector/chats/{chat_id}/as-handle", {"handle": new_phone(1), "action": "send", "text": "x"}),
        ):
            assert (await theirs.post(path, data={**data, "csrf_token": token})).status_code == 404, path
        assert (
            await theirs.post(f"/inspector/deliveries/{delivery_id}/resend", data={"csrf_token": token})
        ).status_code == 404
        handles = (await theirs.get("/inspector/handles")).text
        members = (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"]
        assert not any(member["handle"] in handles for member in members)
    listed = await world.http.get(f"/v3/chats/{chat_id}/messages")
    assert len(listed.json()["messages"]) == 1


@pytest.mark.parametrize("before", ["abc", "-1"])
async def test_a_bad_page_number_is_a_400_page(world: World, before: str) -> None:
    chat_id = await group_chat(world)
    async with browser(world) as http:
        await signed_in(http, world.partner)
        response = await http.get(f"/inspector/chats/{chat_id}", params={"before": before})
        assert response.status_code == 400
        assert "text/html" in response.headers["content-type"]


async def test_the_handles_page_sets_a_handles_services_faults_and_device(world: World) -> None:
    handle = new_phone(2)
    replies = [{"match": "hi", "reply": "hello", "after_ms": 10}]
    put = await world.http.put(
        f"http://testserver/sandbox/handles/{handle}", json={"services": ["iMessage"], "replies": replies}
    )
    assert put.status_code == 200, put.text
    async with browser(world) as http:
        token = await signed_in(http, world.partner)
        form = [("csrf_token", token), ("handle", handle), ("services", "SMS"), ("failing", "add"),
                ("delivery_ms", "1500"), ("auto_read_ms", ""), ("offline", "on")]  # fmt: skip
        response = await http.post(
            "/inspector/handles", content=str(httpx.QueryParams(form)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert response.status_code == 303, response.text
        state = (await world.http.get(f"http://testserver/sandbox/handles/{handle}")).json()
        assert state == {"handle": handle, "services": ["SMS"], "failing_operations": ["add"], "delivery_ms": 1500,
                         "auto_read_ms": None, "offline": True, "replies": replies, "blocked": False}  # fmt: skip
        page = (await http.get("/inspector/handles")).text
        assert f"<h2>{handle}</h2>" in page
        assert "a message matching <code>hi</code> → “hello” after 10 ms" in page  # its reply rules are shown
        refused = await http.post("/inspector/handles", data={"csrf_token": token, "handle": handle, "services": "Fax"})
        assert refused.status_code == 400
        assert "Unknown service" in refused.text


async def test_with_the_sandbox_off_the_inspector_shows_but_does_not_act_as_the_far_side(
    fresh_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=0, sandbox=False)
    async with open_world(settings) as world:
        chat_id = await group_chat(world)
        async with browser(world) as http:
            token = await signed_in(http, world.partner)
            page = (await http.get(f"/inspector/chats/{chat_id}")).text
            assert "Send as your line" in page
            assert "The other side" not in page
            far_side = {"csrf_token": token, "handle": new_phone(1), "action": "send", "text": "x"}
            assert (await http.post(f"/inspector/chats/{chat_id}/as-handle", data=far_side)).status_code == 404
            edit = {"csrf_token": token, "handle": new_phone(1), "services": "SMS"}
            assert (await http.post("/inspector/handles", data=edit)).status_code == 404
            sent = await http.post(
                f"/inspector/chats/{chat_id}/send", data={"csrf_token": token, "text": "still works"}
            )
            assert sent.status_code == 303


async def test_a_member_reacts_as_the_far_side_to_one_of_our_messages(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url, ["reaction.added"])
    chat_id = await group_chat(world)
    ours = (await world.http.get(f"/v3/chats/{chat_id}/messages")).json()["messages"][0]
    member = (await world.http.get(f"/v3/chats/{chat_id}")).json()["handles"][1]["handle"]
    async with browser(world) as http:
        token = await signed_in(http, world.partner)
        page = (await http.get(f"/inspector/chats/{chat_id}")).text
        assert f'<option value="{ours["id"]}">hello from the line</option>' in page
        form = {"csrf_token": token, "action": "react", "handle": member, "message_id": ours["id"], "type": "love"}
        response = await http.post(f"/inspector/chats/{chat_id}/as-handle", data=form)
        assert response.status_code == 303, response.text
    await world.worker.run_until_idle()
    (hit,) = await receiver.wait_for_async(1)
    data = json.loads(hit.body)["data"]
    assert (data["reaction_type"], data["is_from_me"]) == ("love", False)
