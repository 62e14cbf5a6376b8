"""Group participants end to end: the official SDK, a real server process, a real webhook receiver.

The API runs as ``linq-server serve --no-worker`` and the jobs in a separate ``linq-server worker``
process, so a test can hold the worker (stop it) for as long as it wants a change to stay queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from linq import BadRequestError, ConflictError, LinqAPIV3, NotFoundError

from linq_server.domain.partners import generate_api_key
from tests.support.groups import group_with_new_members
from tests.support.jobs import settled
from tests.support.phones import new_phone
from tests.support.receiver import Received, Receiver
from tests.support.server import ServerProcess

EVENTS = ["participant.added", "participant.removed", "chat.created", "chat.group_name_updated"]


class Flow:
    def __init__(
        self, database_url: str, server: ServerProcess, worker: ServerProcess, sdk: LinqAPIV3, receiver: Receiver,
        secret: str,
    ) -> None:  # fmt: skip
        self.database_url, self.server, self.worker = database_url, server, worker
        self.sdk, self.receiver, self.secret = sdk, receiver, secret
        self.line = server.phone_numbers[0]

    def hold(self) -> None:
        """Stop the worker: whatever is accepted from now on stays queued until ``release``."""
        self.worker.stop()

    def release(self) -> None:
        self.worker.start()

    def group(self, *handles: str) -> str:
        created = self.sdk.chats.create(
            from_=self.line, to=list(handles), message={"parts": [{"type": "text", "value": "Welcome"}]}
        )
        return created.chat.id

    def settled_events(self, event_type: str) -> list[Received]:
        """Every delivery of ``event_type``, counted once no job is left queued or running."""
        settled(self.database_url)
        return [hit for hit in self.receiver.received if hit.headers["x-webhook-event"] == event_type]

    def handles_of(self, hits: list[Received]) -> list[str]:
        """The handle of each delivery, duplicates kept, in a stable order."""
        return sorted(str(self.verified(hit)["data"]["handle"]) for hit in hits)  # type: ignore[index]

    def verified(self, hit: Received) -> dict[str, object]:
        payload: dict[str, object] = standardwebhooks.Webhook(self.secret).verify(hit.body, hit.headers)
        return payload


@pytest.fixture
def flow(fresh_database_url: str, tmp_path: Path) -> Iterator[Flow]:
    receiver = Receiver().start()
    key, lines = generate_api_key(), [new_phone(0)]
    server = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("serve", "--no-worker")).start()
    worker = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("worker",)).start()
    sdk = LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True)
    secret = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=EVENTS).signing_secret
    yield Flow(fresh_database_url, server, worker, sdk, receiver, secret)
    sdk.close()
    worker.stop()
    server.stop()
    receiver.stop()


def test_add_then_remove_a_participant(flow: Flow) -> None:
    alice, bob, carol = new_phone(1), new_phone(2), new_phone(3)
    chat_id = flow.group(alice, bob)
    flow.hold()
    added = flow.sdk.chats.participants.add(chat_id, handle=carol)
    assert (added.status, added.message) == ("accepted", "Participant addition queued")
    assert added.trace_id and len(added.trace_id) == 32
    assert carol not in [h.handle for h in flow.sdk.chats.retrieve(chat_id).handles]  # queued, not yet applied
    flow.release()

    (hit,) = flow.settled_events("participant.added")
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
    (hit,) = flow.settled_events("participant.removed")
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
    flow.hold()
    first = flow.sdk.chats.participants.add(group, handle=carol)
    second = flow.sdk.chats.participants.add(group, handle=carol)
    assert first.status == second.status == "accepted"
    flow.release()
    assert flow.handles_of(flow.settled_events("participant.added")) == [carol]
    assert [h.handle for h in flow.sdk.chats.retrieve(group).handles].count(carol) == 1


def test_after_leaving_a_group_every_interaction_is_409_2013(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2), new_phone(3))
    left = flow.sdk.chats.leave_chat(group)
    assert (left.status, left.message) == ("accepted", "Leave group chat queued")
    (hit,) = flow.settled_events("participant.removed")
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
        assert caught.value.response.headers["x-should-retry"] == "false"
    assert flow.sdk.chats.retrieve(group).id == group  # reads still work


def test_twenty_concurrent_adds_of_different_handles_all_land_once(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2))
    handles = [new_phone(3) for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda h: flow.sdk.chats.participants.add(group, handle=h), handles))
    assert all(a.status == "accepted" for a in answers)
    assert flow.handles_of(flow.settled_events("participant.added")) == sorted(handles)
    active = [h.handle for h in flow.sdk.chats.retrieve(group).handles if h.status == "active"]
    assert sorted(set(active) & set(handles)) == sorted(handles) and len(active) == 23


def test_twenty_concurrent_adds_of_the_same_handle_make_one_participant(flow: Flow) -> None:
    group = flow.group(new_phone(1), new_phone(2))
    carol = new_phone(3)
    flow.hold()  # else a worker may apply the first add before the last arrives, which then rightly answers 409
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: flow.sdk.chats.participants.add(group, handle=carol), range(20)))
    assert all(a.status == "accepted" for a in answers)
    flow.release()
    assert flow.handles_of(flow.settled_events("participant.added")) == [carol]
    assert [h.handle for h in flow.sdk.chats.retrieve(group).handles].count(carol) == 1


def test_accepted_changes_survive_a_kill_9(fresh_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    # Each change falls due 10 s after its 202: long enough to kill the server before any is applied.
    slow = {"LINQ_SERVER_CARRIER_DELAY_MS": "10000", "LINQ_SERVER_JOB_LEASE_SECONDS": "2"}
    key, lines = generate_api_key(), [new_phone(0)]
    server = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, extra_env=slow).start()
    worker = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("worker",))
    try:
        secret, chat_id, handles = group_with_new_members(server, receiver, 10, member_digit=3)
        server.kill()  # the network was still "working" on every change
        # Back without a worker first, to see the premise: nothing had been applied before the kill.
        server.command = ("serve", "--no-worker")
        server.env["LINQ_SERVER_CARRIER_DELAY_MS"] = "20"
        server.start()
        with LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            members = [h.handle for h in sdk.chats.retrieve(chat_id).handles]
            assert not set(handles) & set(members), "the premise failed: a change was applied before the kill"
            worker.env["LINQ_SERVER_CARRIER_DELAY_MS"] = "20"
            worker.start()
            settled(fresh_database_url)
            flow = Flow(fresh_database_url, server, worker, sdk, receiver, secret)
            hits = flow.settled_events("participant.added")
            assert flow.handles_of(hits) == sorted(handles)  # each exactly once
            active = [h.handle for h in sdk.chats.retrieve(chat_id).handles if h.status == "active"]
            assert sorted(set(active) & set(handles)) == sorted(handles) and len(active) == 13
    finally:
        worker.stop()
        server.stop()
        receiver.stop()
