"""The inspector in a real browser: the Debian Chromium driven by Playwright, against a real server process.

A second tab acts (as the far side) while the first only watches, so what the first shows arrived live,
over its event stream, without a reload. Screenshots go to ``.ci/artifacts/inspector/``.
"""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from linq_server.testing.sandbox import LinqSandbox, LinqServer
from linq_server.testing.server import LinqServerProcess
from tests.support.phones import new_phone

playwright_sync = pytest.importorskip("playwright.sync_api")
Browser, Page, expect = playwright_sync.Browser, playwright_sync.Page, playwright_sync.expect

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts" / "inspector"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

if shutil.which(CHROMIUM) is None:
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinqServer]:
    process = LinqServerProcess(tmp_path_factory.mktemp("inspector-server")).start()
    try:
        yield LinqServer(process.url, process.admin_key)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sandbox(server: LinqServer) -> Iterator[LinqSandbox]:
    opened = server.new_sandbox()
    yield opened
    opened.close()


def api(sandbox: LinqSandbox, method: str, path: str, **body: Any) -> Any:
    response = sandbox.http.request(method, path, json=body or None)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def new_chat(sandbox: LinqSandbox, handles: list[str], text: str) -> str:
    created = api(sandbox, "POST", "/api/partner/v3/chats", **{
        "from": sandbox.lines[0], "to": handles, "message": {"parts": [{"type": "text", "value": text}]},
    })  # fmt: skip
    chat_id: str = created["chat"]["id"]
    return chat_id


def png(width: int = 160, height: int = 100) -> bytes:
    """A real PNG image (a warm gradient), so the bubble's thumbnail has something to draw."""
    rows = b"".join(b"\x00" + b"".join(bytes((230, 120 + y, 60 + x // 2)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def uploaded(sandbox: LinqSandbox, filename: str, content: bytes) -> str:
    """Upload a file through the attachments API; returns its attachment id."""
    offer = api(sandbox, "POST", "/api/partner/v3/attachments",
                filename=filename, content_type="image/png", size_bytes=len(content))  # fmt: skip
    response = sandbox.http.put(offer["upload_url"], content=content, headers=offer["required_headers"])
    assert response.status_code < 300, response.text
    attachment_id: str = offer["attachment_id"]
    return attachment_id


def sign_in(page: Any, server: LinqServer, api_key: str) -> None:
    page.goto(f"{server.url}/inspector")
    expect(page).to_have_url(f"{server.url}/inspector/sign-in")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()


@pytest.fixture
def tabs(browser: Any, server: LinqServer, sandbox: LinqSandbox) -> Iterator[tuple[Any, Any]]:
    """Two tabs of one signed-in browser session: one watches, the other acts."""
    context = browser.new_context(viewport=DESKTOP)
    watcher = context.new_page()
    sign_in(watcher, server, sandbox.api_key)
    yield watcher, context.new_page()
    context.close()


def watch(page: Any, url: str) -> None:
    """Open ``url`` and wait for its live stream; mark the window, so a reload would show (the mark is lost)."""
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.evaluate("window.__watching = true")


def still_the_same_page(page: Any) -> bool:
    return bool(page.evaluate("window.__watching === true"))


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_a_handles_message_and_the_ticks_of_ours_arrive_live(
    tabs: tuple[Any, Any], server: LinqServer, sandbox: LinqSandbox
) -> None:
    watcher, actor = tabs
    friend = new_phone(4)
    # The friend's phone takes five seconds (on the server's manual clock) to receive a message.
    api(sandbox, "PUT", f"/sandbox/handles/{friend}", services=["iMessage", "RCS", "SMS"], delivery_ms=5000)
    chat_id = new_chat(sandbox, [friend], "Hi! Your table for two is booked for 8pm.")
    chat_url = f"{server.url}/inspector/chats/{chat_id}"

    watcher.reload()
    watcher.get_by_role("link", name=friend).click()
    expect(watcher).to_have_url(chat_url)
    watch(watcher, chat_url)
    first = watcher.locator(".row.mine").first
    expect(first.locator(".bubble")).to_have_class("bubble svc-imessage")
    expect(first.locator(".tick")).to_have_text("✓ Sent")

    actor.goto(chat_url)
    actor.get_by_label("Handle").select_option(friend)
    actor.get_by_role("button", name="Type", exact=True).click()
    expect(watcher.locator(".row.typing")).to_contain_text(friend)
    actor.get_by_label("Handle").select_option(friend)
    actor.get_by_label("Message", exact=True).last.fill("Perfect, can we make it 8:30?")
    actor.get_by_role("button", name="Send as them").click()
    theirs = watcher.locator(".row.theirs", has_text="Perfect, can we make it 8:30?")
    expect(theirs).to_be_visible()
    expect(watcher.locator(".row.typing")).to_have_count(0)  # their message ends their typing

    api(sandbox, "POST", f"/api/partner/v3/chats/{chat_id}/messages",
        message={"parts": [{"type": "text", "value": "Done: 8:30 it is."}]})  # fmt: skip
    ours = watcher.locator(".row.mine", has_text="Done: 8:30 it is.")
    expect(ours.locator(".tick")).to_have_text("✓ Sent")
    sandbox.clock.advance(5)
    expect(ours.locator(".tick")).to_have_text("✓✓ Delivered")
    actor.get_by_label("Handle").select_option(friend)
    actor.get_by_role("button", name="Read").click()
    expect(ours.locator(".tick")).to_have_text("✓✓ Read")
    assert still_the_same_page(watcher)
    screenshot(watcher, "chat")


def test_a_participant_joins_live_and_a_failed_message_says_why(
    tabs: tuple[Any, Any], server: LinqServer, sandbox: LinqSandbox
) -> None:
    watcher, actor = tabs
    members = [new_phone(1), new_phone(2), new_phone(3)]
    chat_id = new_chat(sandbox, members, "Welcome to the tasting group!")
    api(sandbox, "PUT", f"/api/partner/v3/chats/{chat_id}", display_name="Tasting group")
    watch(watcher, f"{server.url}/inspector/chats/{chat_id}")
    expect(watcher.get_by_role("heading", name="Tasting group")).to_be_visible()

    joining = new_phone(5)
    api(sandbox, "POST", f"/api/partner/v3/chats/{chat_id}/participants", handle=joining)
    expect(watcher.locator(".note", has_text=f"{joining} joined")).to_be_visible()
    expect(watcher.locator("#members")).to_contain_text(joining)

    menu = [
        {"type": "text", "value": "Tonight's menu"},
        {"type": "media", "attachment_id": uploaded(sandbox, "menu.png", png())},
    ]
    api(sandbox, "POST", f"/api/partner/v3/chats/{chat_id}/messages", message={"parts": menu})
    thumbnail = watcher.locator(".row.mine", has_text="Tonight's menu").locator(".thumb img")
    expect(thumbnail).to_have_attribute("alt", "menu.png")
    expect(thumbnail).to_have_js_property("naturalWidth", 160)  # the image itself arrived, by its signed link

    actor.goto(f"{server.url}/inspector/chats/{chat_id}")
    for name in ("Stop typing", "Read", "Leave"):  # the far side's actions need no scrolling on a laptop
        box = actor.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], name
    actor.get_by_label("Handle").select_option(members[0])
    actor.get_by_label("Message", exact=True).last.fill("Count me in! Is there a vegetarian option?")
    actor.get_by_role("button", name="Send as them").click()
    question = watcher.locator(".row.theirs", has_text="vegetarian option")
    expect(question.locator(".sender")).to_have_text(members[0])
    listed = api(sandbox, "GET", f"/api/partner/v3/chats/{chat_id}/messages")["messages"]
    asked = next(m["id"] for m in listed if not m["is_from_me"])
    api(sandbox, "POST", f"/api/partner/v3/messages/{asked}/reactions", operation="add", type="love", part_index=0)
    api(sandbox, "POST", f"/api/partner/v3/chats/{chat_id}/messages", message={
        "parts": [{"type": "text", "value": "Yes: the mushroom risotto."}],
        "reply_to": {"message_id": asked, "part_index": 0},
    })  # fmt: skip
    expect(question.locator(".reactions")).to_have_text("❤️")
    reply = watcher.locator(".row.mine", has_text="mushroom risotto")
    expect(reply.locator(".quote")).to_contain_text("Count me in! Is there a vegetarian option?")
    expect(reply.locator(".tick")).to_have_text("✓✓ Delivered")
    assert still_the_same_page(watcher)
    screenshot(watcher, "group-chat")

    unlucky = new_phone(7)  # an Android phone: RCS, green bubbles
    api(sandbox, "PUT", f"/sandbox/handles/{unlucky}", services=["RCS", "SMS"], failing_operations=["deliver"])
    dm_id = new_chat(sandbox, [unlucky], "Hello from the restaurant")
    watch(watcher, f"{server.url}/inspector/chats/{dm_id}")
    api(sandbox, "POST", f"/api/partner/v3/chats/{dm_id}/messages",
        message={"parts": [{"type": "text", "value": "Did the menu come through?"}]})  # fmt: skip
    failed = watcher.locator(".row.mine", has_text="Did the menu come through?")
    expect(failed.locator(".bubble")).to_have_class("bubble svc-green")
    expect(failed.locator(".tick-failed")).to_contain_text("Not delivered:")
    assert still_the_same_page(watcher)


def test_a_delivery_shows_its_attempts_live_and_resends(
    tabs: tuple[Any, Any], server: LinqServer, sandbox: LinqSandbox
) -> None:
    watcher, _actor = tabs
    friend = new_phone(1)
    chat_id = new_chat(sandbox, [friend], "Your order is on its way.")
    sandbox.webhooks.respond(503)
    api(sandbox, "POST", f"/sandbox/handles/{friend}/typing", chat_id=chat_id, typing=True)
    delivery = sandbox.wait_for_delivery("chat.typing_indicator.started", attempts=1)

    watcher.goto(f"{server.url}/inspector/webhooks")
    watcher.get_by_role("link", name="chat.typing_indicator.started").first.click()
    expect(watcher).to_have_url(f"{server.url}/inspector/deliveries/{delivery['id']}")
    watch(watcher, watcher.url)
    attempts = watcher.locator("tr.attempt")
    expect(attempts).to_have_count(1)
    expect(attempts.nth(0).locator(".answer")).to_have_text("503")
    expect(attempts.nth(0)).to_contain_text("verifies")
    expect(watcher.locator("pre.json")).to_contain_text('"event_type": "chat.typing_indicator.started"')

    sandbox.webhooks.respond(200)
    sandbox.clock.advance(120)  # past the first retry's backoff
    expect(attempts).to_have_count(2)
    expect(attempts.nth(1).locator(".answer")).to_have_text("200")
    expect(watcher.locator("#delivery-summary .status")).to_have_text("delivered")
    assert still_the_same_page(watcher)
    screenshot(watcher, "delivery")

    watcher.get_by_role("button", name="Resend").click()
    expect(watcher).not_to_have_url(f"{server.url}/inspector/deliveries/{delivery['id']}")
    expect(watcher.locator("tr.attempt .answer")).to_have_text("200")
    event_id = delivery["payload"]["event_id"]
    same_event = [d for d in sandbox.deliveries(event_type="chat.typing_indicator.started")
                  if d["payload"]["event_id"] == event_id]  # fmt: skip
    assert len(same_event) == 2 and same_event[0]["id"] != delivery["id"]
    assert watcher.url == f"{server.url}/inspector/deliveries/{same_event[0]['id']}"

    watcher.goto(f"{server.url}/inspector/webhooks")
    newest = watcher.locator("#deliveries tbody tr").first
    expect(newest).to_contain_text("chat.typing_indicator.started")
    expect(newest).to_contain_text("delivered")
    screenshot(watcher, "deliveries")


def test_another_partners_key_sees_none_of_it(browser: Any, server: LinqServer, sandbox: LinqSandbox) -> None:
    chat_id = new_chat(sandbox, [new_phone(2)], "Only for partner A")
    stranger = server.new_sandbox()
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        sign_in(page, server, stranger.api_key)
        expect(page.locator("#chat-list")).to_contain_text("No chats yet")
        page.goto(f"{server.url}/inspector/chats/{chat_id}")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "Only for partner A" not in page.content()
        page.goto(f"{server.url}/inspector/webhooks")
        # Only the stranger's own: the creation of their receiver's subscription.
        expect(page.locator("#deliveries tbody tr")).to_have_count(1)
        expect(page.locator("#deliveries tbody")).to_contain_text("webhook_subscription.created")
        expect(page.locator("body")).not_to_contain_text(sandbox.webhooks.url)
    finally:
        context.close()
        stranger.close()


def test_the_event_stream_over_plain_http(server: LinqServer, sandbox: LinqSandbox) -> None:
    """One stream per signed-in page: ``ready``, then ``change`` when the partner's world moves; none
    without a session."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/inspector/events").status_code == 401
        http.post("/inspector/sign-in", data={"api_key": sandbox.api_key})
        found = re.search(r'data-mark="([^"]+)"', http.get("/inspector/chats").text)
        assert found is not None
        with http.stream("GET", "/inspector/events", params={"since": found.group(1)}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            seen: list[str] = []
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                    if seen == ["ready"]:
                        new_chat(sandbox, [new_phone(3)], "Anyone there?")
                    if seen == ["ready", "change"]:
                        break
        assert seen == ["ready", "change"]


def test_the_api_docs_render_every_operation_offline(browser: Any, server: LinqServer) -> None:
    page = browser.new_page(viewport=DESKTOP)
    try:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server.url}/docs")
        expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
        operations = page.locator(".opblock").count()
        assert "Unable to render" not in page.content()
        page.screenshot(path=str(ARTIFACTS / "docs.png"))
    finally:
        page.close()
    assert operations >= 60  # every documented route, not a few
    assert [url for url in requested if not url.startswith(server.url)] == []  # nothing from the internet
