"""The sandbox end to end, written as a user of the pytest plugin writes tests: the ``linq`` fixture,
linq-python in strict mode, the plugin's signature-checking receiver, and a real server process."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import linq as linq_sdk
import pytest

from linq_server.testing import LinqSandbox, LinqServer

HI = {"parts": [{"type": "text", "value": "hi"}]}
# Handles ending in 1-3 are iPhones in the sandbox: their groups are iMessage groups.
ALICE, BOB, CAROL = "+14155550101", "+14155550102", "+14155550103"


def create_group(sandbox: LinqSandbox, members: list[str]) -> str:
    chat_id: str = sandbox.client.chats.create(from_=sandbox.lines[0], to=members, message=HI).chat.id
    return chat_id


def test_a_member_leaves_the_group(linq: LinqSandbox) -> None:
    chat_id = create_group(linq, [ALICE, BOB, CAROL])
    linq.phone(BOB).leave(chat_id)
    removed = linq.webhooks.wait_for("participant.removed", where=lambda hook: hook.data["chat_id"] == chat_id)
    assert removed.data["handle"] == BOB and removed.data["participant"]["status"] == "left"
    handles = {h.handle: h for h in linq.client.chats.retrieve(chat_id).handles}
    assert handles[BOB].status == "left" and handles[ALICE].status == "active"


def test_a_member_types_and_stops(linq: LinqSandbox) -> None:
    chat_id = create_group(linq, [ALICE, BOB])
    linq.phone(ALICE).typing(chat_id)
    linq.phone(ALICE).typing(chat_id, typing=False)
    started = linq.webhooks.wait_for("chat.typing_indicator.started")
    stopped = linq.webhooks.wait_for("chat.typing_indicator.stopped")
    assert started.data["chat_id"] == stopped.data["chat_id"] == chat_id
    assert started.data["actor_handle"]["handle"] == ALICE


def test_a_429_fault_is_retried_by_the_sdk_and_then_succeeds(linq: LinqSandbox) -> None:
    linq.faults.set(rules=[{"method": "POST", "path": "/v3/chats", "status": 429, "times": 2, "retry_after": 0}])
    chat = linq.client.chats.create(from_=linq.lines[0], to=[ALICE], message=HI).chat
    assert linq.webhooks.wait_for("chat.created").data["id"] == chat.id
    assert linq.faults.get()["rules"][0]["remaining"] == 0


def test_a_500_fault_reaches_the_caller_in_linqs_envelope(linq: LinqSandbox) -> None:
    linq.faults.set(rules=[{"method": "GET", "path": "/v3/chats/{chatId}", "status": 500, "latency_ms": 50}])
    chat_id = create_group(linq, [ALICE, BOB])
    with pytest.raises(linq_sdk.InternalServerError) as raised:
        linq.client.with_options(max_retries=0).chats.retrieve(chat_id)
    assert raised.value.body | {"status": 500, "code": 3006, "message": "Internal server error"} == raised.value.body
    linq.faults.clear()
    assert linq.client.chats.retrieve(chat_id).id == chat_id


def test_duplicated_webhooks_carry_the_same_webhook_id(linq: LinqSandbox) -> None:
    linq.faults.set(webhooks={"duplicate": 1})
    chat_id = create_group(linq, [ALICE, BOB])
    first, second = linq.webhooks.wait_for_all("chat.created", 2)
    assert first.webhook_id == second.webhook_id and first.data["id"] == second.data["id"] == chat_id


def test_the_delivery_log_shows_the_signed_headers_and_resends(linq: LinqSandbox) -> None:
    create_group(linq, [ALICE, BOB])
    hook = linq.webhooks.wait_for("chat.created")
    delivery = linq.wait_for_delivery("chat.created", status="delivered")
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["response_excerpt"] == "ok"
    assert attempt["request_headers"]["webhook-signature"] == hook.headers["webhook-signature"]
    linq.http.post(f"/sandbox/deliveries/{delivery['id']}/resend").raise_for_status()
    again = linq.webhooks.wait_for_all("chat.created", 2)[1]
    assert again.webhook_id == hook.webhook_id and again.payload == hook.payload


def test_a_failing_receivers_retries_run_through_the_window_on_the_manual_clock(linq: LinqSandbox) -> None:
    linq.webhooks.respond(500)
    create_group(linq, [ALICE, BOB])
    started = time.perf_counter()
    # Each retry waits 5 s doubling to 5 min, ±20 %: moving the clock by the most it can be brings exactly one.
    for attempt in range(1, 11):
        linq.wait_for_delivery("chat.created", attempts=attempt)
        linq.clock.advance(min(5 * 2 ** (attempt - 1), 300) * 1.2 + 1)
    delivery = linq.wait_for_delivery("chat.created", status="failed")
    elapsed = time.perf_counter() - started
    assert [a["status_code"] for a in delivery["attempts"]] == [500] * 11
    first, last = delivery["attempts"][0]["started_at"], delivery["attempts"][-1]["started_at"]
    assert minutes_between(first, last) > 20  # server time: the whole retry schedule
    print(f"11 attempts over {minutes_between(first, last):.1f} server minutes took {elapsed:.2f} s of real time")


def minutes_between(first: str, last: str) -> float:
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds() / 60


def test_reset_leaves_the_partner_its_key_and_lines(linq: LinqSandbox) -> None:
    chat_id = create_group(linq, [ALICE, BOB])
    linq.webhooks.wait_for("chat.created")
    linq.faults.set(rules=[{"path": "/v3/never", "status": 500}])
    linq.reset()
    assert linq.client.chats.list_chats().chats == []
    with pytest.raises(linq_sdk.NotFoundError):
        linq.client.chats.retrieve(chat_id)
    (subscription,) = linq.client.webhook_subscriptions.list().subscriptions  # only the receiver's, made again
    assert subscription.target_url == linq.webhooks.url
    assert [n.phone_number for n in linq.client.phone_numbers.list().phone_numbers] == linq.lines
    assert linq.faults.get()["rules"] == []
    assert all(d["event_type"] == "webhook_subscription.created" for d in linq.deliveries())


def test_two_partners_acting_at_once_never_see_each_other(linq: LinqSandbox, linq_server: LinqServer) -> None:
    other = linq_server.new_sandbox()
    made: dict[str, list[str]] = {}

    def act(sandbox: LinqSandbox) -> None:
        # Different members each time: the same recipients would reuse one chat.
        made[sandbox.partner_id] = [create_group(sandbox, [ALICE, BOB, f"+1415555020{n}"]) for n in (1, 2, 3)]
        sandbox.phone(BOB).leave(made[sandbox.partner_id][0])

    try:
        threads = [threading.Thread(target=act, args=(s,)) for s in (linq, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for sandbox in (linq, other):
            mine = set(made[sandbox.partner_id])
            sandbox.webhooks.wait_for("participant.removed")
            created = sandbox.webhooks.wait_for_all("chat.created", 3)
            assert {hook.data["id"] for hook in created} == mine
            assert {chat.id for chat in sandbox.client.chats.list_chats().chats} == mine
            assert {d["payload"]["data"].get("id") for d in sandbox.deliveries(event_type="chat.created")} == mine
            assert all(hook.payload["partner_id"] == sandbox.partner_id for hook in sandbox.webhooks.received)
    finally:
        other.close()
