"""The 32-member cap and the 3-member minimum hold under concurrent and mixed queued changes,
and a group commit answers each of its requests on its own."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from tests.support.jobs import settled
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


class Group:
    def __init__(self, server: ServerProcess, receiver: Receiver, database_url: str) -> None:
        self.server, self.receiver, self.database_url = server, receiver, database_url
        self.sdk = LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True)

    def create(self, *handles: str) -> str:
        message = {"parts": [{"type": "text", "value": "hi"}]}
        return self.sdk.chats.create(from_=self.server.phone_numbers[0], to=list(handles), message=message).chat.id

    def burst(self, chat_id: str, requests: list[tuple[str, str]]) -> list[tuple[int, int | None]]:
        """Send every (method, handle) at once; each answer as (status, error code or None), in order."""

        def send(request: tuple[str, str]) -> tuple[int, int | None]:
            method, handle = request
            response = httpx.request(
                method, f"{self.server.base_url}/v3/chats/{chat_id}/participants", json={"handle": handle},
                headers={"Authorization": f"Bearer {self.server.api_key}"}, timeout=60,
            )  # fmt: skip
            if response.status_code >= 400:
                assert response.headers.get("x-should-retry") == ("false" if response.status_code == 409 else None)
                return response.status_code, response.json()["error"]["code"]
            return response.status_code, None

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(send, requests))

    def active(self, chat_id: str) -> list[str]:
        return [h.handle for h in self.sdk.chats.retrieve(chat_id).handles if h.status == "active"]

    def delivered(self, event_type: str) -> list[str]:
        settled(self.database_url)
        return sorted(
            f"{event_type} {json.loads(hit.body)['data']['handle']}"
            for hit in self.receiver.received
            if hit.headers["x-webhook-event"] == event_type
        )


@pytest.fixture
def group(fresh_database_url: str, tmp_path: Path) -> Iterator[Group]:
    receiver = Receiver().start()
    server = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)]).start()
    opened = Group(server, receiver, fresh_database_url)
    opened.sdk.webhook_subscriptions.create(
        target_url=receiver.url, subscribed_events=["participant.added", "participant.removed"]
    )
    yield opened
    opened.sdk.close()
    server.stop()
    receiver.stop()


def test_forty_concurrent_adds_to_a_three_member_group_stop_at_thirty_two(group: Group) -> None:
    chat_id = group.create(new_phone(1), new_phone(2))  # 3 members with our line
    handles = [new_phone(3) for _ in range(40)]
    answers = group.burst(chat_id, [("POST", handle) for handle in handles])
    assert Counter(answers) == {(202, None): 29, (409, 2015): 11}
    accepted = sorted(handle for handle, answer in zip(handles, answers, strict=True) if answer[0] == 202)
    assert group.delivered("participant.added") == [f"participant.added {h}" for h in accepted]
    assert len(group.active(chat_id)) == 32


def test_concurrent_removals_never_leave_fewer_than_three(group: Group) -> None:
    recipients = [new_phone(1) for _ in range(4)]
    chat_id = group.create(*recipients)  # 5 members with our line: at most two may go
    answers = group.burst(chat_id, [("DELETE", handle) for handle in recipients])
    assert Counter(answers) == {(202, None): 2, (409, 2015): 2}
    removed = sorted(handle for handle, answer in zip(recipients, answers, strict=True) if answer[0] == 202)
    assert group.delivered("participant.removed") == [f"participant.removed {h}" for h in removed]
    assert len(group.active(chat_id)) == 3


def test_queued_adds_and_removals_together_respect_the_cap(group: Group) -> None:
    members = [new_phone(1) for _ in range(30)]
    chat_id = group.create(*members)  # 31 members with our line: one seat left
    newcomers = [new_phone(2) for _ in range(5)]
    answers = group.burst(chat_id, [("POST", handle) for handle in newcomers])
    assert Counter(answers) == {(202, None): 1, (409, 2015): 4}
    settled(group.database_url)
    assert len(group.active(chat_id)) == 32


def test_one_group_commit_answers_valid_and_invalid_requests_each_on_its_own(group: Group) -> None:
    members = [new_phone(1), new_phone(2)]
    chat_id = group.create(*members)
    valid = [new_phone(3) for _ in range(10)]
    requests = (
        [("POST", h) for h in valid]
        + [("POST", "415-555-0100")] * 3  # not E.164
        + [("POST", members[0])] * 3  # already active
        + [("POST", new_phone(7)) for _ in range(3)]  # Android: cannot receive iMessage
        + [("DELETE", new_phone(4)) for _ in range(3)]  # not a participant
    )
    answers = group.burst(chat_id, requests)
    expected = [(202, None)] * 10 + [(400, 1002)] * 3 + [(409, 2015)] * 3 + [(409, 2017)] * 3 + [(409, 2015)] * 3
    assert answers == expected
    assert group.delivered("participant.added") == sorted(f"participant.added {h}" for h in valid)
    assert sorted(group.active(chat_id)) == sorted([group.server.phone_numbers[0], *members, *valid])
