"""Group participants end to end: the official SDK, a real server process, a real webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from linq import BadRequestError, ConflictError, LinqAPIV3, NotFoundError

from linq_server.domain.partners import generate_api_key
from tests.support.phones import new_phone
from tests.support.receiver import Received, Receiver
from tests.support.server import ServerProcess

EVENTS = ["participant.added", "participant.removed", "chat.created", "chat.group_name_updated"]


class Flow:
    def __init__(self, server: ServerProcess, sdk: LinqAPIV3, receiver: Receiver, secret: str) -> None:
        self.server, self.sdk, self.receiver, self.secret = server, sdk, receiver, secret
        self.line = server.phone_numbers[0]

    def group(self, *handles: str) -> str:
        created = self.sdk.chats.create(
            from_=self.line, to=list(handles), message={"parts": [{"type": "text", "value": "Welcome"}]}
        )
        return created.chat.id

    def events(self, event_type: str, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            found = [hit for hit in self.receiver.received if hit.headers["x-webhook-event"] == event_type]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def verified(self, hit: Received) -> dict[str, object]:
        payload: dict[str, object] = standardwebhooks.Webhook(self.secret).verify(hit.body, hit.headers)
        return payload


@pytest.fixture
def flow(fresh_database_url: str, tmp_path: Path) -> Iterator[Flow]:
    receiver = Receiver().start()
    server = ServerProcess(
        fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)],
        extra_env={"LINQ_SERVER_CARRIER_DELAY_MS": "300"},  # slow enough to see "queued, not yet applied"
    ).start()  # fmt: skip
    sdk = LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True)
    secret = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=EVENTS).signing_secret
    yield Flow(server, sdk, receiver, secret)
    sdk.close()
    server.stop()
    receiver.stop()


def test_add_then_remove_a_participant(flow: Flow) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    chat_id = flow.group(alice, bob)
    added = flow.sdk.chats.participants.add(chat_id, handle=carol)
    assert (added.status, added.message) == ("accepted", "Participant addition queued")
    assert added.trace_id and len(added.trace_id) == 32
    assert carol not in [h.handle for h in flow.sdk.chats.retrieve(chat_id).handles]  # queued, not yet applied

    (hit,) = flow.events("participant.added", 1)
    event = flow.verified(hit)
    assert event["trace_id"] == added.trace_id
    data = event["data"]
    assert isinstance(data, dict)
    assert data["chat_id"] == chat_id and data["handle"] == carol
    assert data["participant"]["handle"] == carol and data["participant"]["status"] == "active"
    unwrapped = LinqAPIV3(api_key="x", webhook_secret=flow.secret, base_url="http://x").webhooks.unwrap(
        hit.text, headers=hit.headers
    )
    assert unwrapped.event_type == "participant.added"
    chat = flow.sdk.chats.retrieve(chat_id)
    joined = next(h for h in chat.handles if h.handle == carol)
    assert joined.status == "active" and joined.service == "iMessage" and joined.is_me is False

    removed = flow.sdk.chats.participants.remove(chat_id, handle=carol)
    assert (removed.status, removed.message) == ("accepted", "Participant removal queued")
    (hit,) = flow.events("participant.removed", 1)
    data = flow.verified(hit)["data"]
    assert isinstance(data, dict)
    assert data["handle"] == carol and data["participant"]["status"] == "removed" and data["removed_at"]
    gone = next(h for h in flow.sdk.chats.retrieve(chat_id).handles if h.handle == carol)
    assert gone.status == "removed" and gone.left_at is not None

    # The membership changed, so creating a chat with the original recipients starts a new one.
    assert flow.group(alice, bob) != chat_id


def test_every_rule_is_checked_before_the_202(flow: Flow) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    group = flow.group(alice, bob)
    dm = flow.group(new_phone(4))

    def conflict(call: object, code: int) -> ConflictError:
        with pytest.raises(ConflictError) as caught:
            call()  # type: ignore[operator]
        assert caught.value.body["code"] == code  # type: ignore[index]
        assert caught.value.response.headers["x-should-retry"] == "false"
        return caught.value

    raw = httpx.post(
        f"{flow.server.base_url}/v3/chats/{group}/participants", json={},
        headers={"Authorization": f"Bearer {flow.server.api_key}"},
    )  # fmt: skip
    assert (raw.status_code, raw.json()["error"]["code"]) == (400, 1001)
    with pytest.raises(BadRequestError) as bad:
        flow.sdk.chats.participants.add(group, handle="415-555-0100")
    assert bad.value.body["code"] == 1002  # type: ignore[index]
    with pytest.raises(NotFoundError):
        flow.sdk.chats.participants.add("00000000-0000-0000-0000-000000000000", handle=carol)

    error = conflict(lambda: flow.sdk.chats.participants.add(dm, handle=carol), 2015)
    assert "group" in error.body["message"]  # type: ignore[index]
    error = conflict(lambda: flow.sdk.chats.participants.add(group, handle=new_phone(7)), 2017)
    assert "iMessage" in error.body["message"] and "new chat" in error.body["message"]  # type: ignore[index]
    conflict(lambda: flow.sdk.chats.participants.add(group, handle=alice), 2015)  # already active
    conflict(lambda: flow.sdk.chats.participants.remove(group, handle=new_phone(1)), 2015)  # not a participant
    conflict(lambda: flow.sdk.chats.participants.remove(group, handle=alice), 2015)  # would leave 2

    full = flow.group(*[new_phone(1) for _ in range(31)])
    conflict(lambda: flow.sdk.chats.participants.add(full, handle=carol), 2015)

    # The same add twice while queued: 202 both times, one participant, one webhook.
    first = flow.sdk.chats.participants.add(group, handle=carol)
    second = flow.sdk.chats.participants.add(group, handle=carol)
    assert first.status == second.status == "accepted"
    assert len(flow.events("participant.added", 1)) == 1
    time.sleep(1.0)
    assert len(flow.events("participant.added", 2, timeout=0)) == 1
    assert [h.handle for h in flow.sdk.chats.retrieve(group).handles].count(carol) == 1
    assert flow.receiver.received  # and nothing was lost on the way


def test_after_leaving_a_group_every_interaction_is_409_2013(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2), new_phone(3))
    left = flow.sdk.chats.leave_chat(group)
    assert (left.status, left.message) == ("accepted", "Leave group chat queued")
    (hit,) = flow.events("participant.removed", 1)
    data = flow.verified(hit)["data"]
    assert isinstance(data, dict)
    assert data["handle"] == flow.line and data["participant"]["is_me"] is True
    assert data["participant"]["status"] == "left"
    for call in (
        lambda: flow.sdk.chats.participants.add(group, handle=new_phone(4)),
        lambda: flow.sdk.chats.participants.remove(group, handle=new_phone(4)),
        lambda: flow.sdk.chats.update(group, display_name="x"),
        lambda: flow.sdk.chats.leave_chat(group),
        lambda: flow.sdk.chats.mark_as_read(group),
    ):
        with pytest.raises(ConflictError) as caught:
            call()
        assert caught.value.body["code"] == 2013  # type: ignore[index]
    assert flow.sdk.chats.retrieve(group).id == group  # reads still work


def test_twenty_concurrent_adds_of_different_handles_all_land_once(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2))
    handles = [new_phone(3) for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda h: flow.sdk.chats.participants.add(group, handle=h), handles))
    assert all(a.status == "accepted" for a in answers)
    hits = flow.events("participant.added", 20)
    time.sleep(0.8)
    hits = flow.events("participant.added", 21, timeout=0)
    assert sorted(flow.verified(h)["data"]["handle"] for h in hits) == sorted(handles)  # type: ignore[index]
    active = [h.handle for h in flow.sdk.chats.retrieve(group).handles if h.status == "active"]
    assert sorted(set(active) & set(handles)) == sorted(handles) and len(active) == 23


def test_twenty_concurrent_adds_of_the_same_handle_make_one_participant(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2))
    carol = new_phone(3)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: flow.sdk.chats.participants.add(group, handle=carol), range(20)))
    assert all(a.status == "accepted" for a in answers)
    flow.events("participant.added", 1)
    time.sleep(1.0)
    assert len(flow.events("participant.added", 2, timeout=0)) == 1
    assert [h.handle for h in flow.sdk.chats.retrieve(group).handles].count(carol) == 1


def test_accepted_changes_survive_a_kill_9(fresh_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    slow = {"LINQ_SERVER_CARRIER_DELAY_MS": "5000", "LINQ_SERVER_JOB_LEASE_SECONDS": "2"}
    server = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)], extra_env=slow)
    server.start()
    try:
        with LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            secret = sdk.webhook_subscriptions.create(
                target_url=receiver.url, subscribed_events=["participant.added"]
            ).signing_secret
            chat_id = sdk.chats.create(
                from_=server.phone_numbers[0], to=[new_phone(1), new_phone(2)],
                message={"parts": [{"type": "text", "value": "hi"}]},
            ).chat.id  # fmt: skip
            handles = [new_phone(3) for _ in range(10)]
            for handle in handles:
                assert sdk.chats.participants.add(chat_id, handle=handle).status == "accepted"
        server.kill()  # the carrier was still "working": nothing had been applied
        server.env["LINQ_SERVER_CARRIER_DELAY_MS"] = "20"
        server.start()
        flow = Flow(server, LinqAPIV3(api_key=server.api_key, base_url=server.base_url), receiver, secret)
        hits = flow.events("participant.added", 10, timeout=30)
        added = sorted({flow.verified(hit)["data"]["handle"] for hit in hits})  # type: ignore[index]
        assert added == sorted(handles)
        members = {h.handle for h in flow.sdk.chats.retrieve(chat_id).handles if h.status == "active"}
        assert set(handles) <= members
    finally:
        server.stop()
        receiver.stop()
