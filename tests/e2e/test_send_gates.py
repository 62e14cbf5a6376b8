"""The send gates and failover end to end: a real server process, the official SDK in strict mode, a real
webhook receiver; the sandbox control API flags lines, blocks handles and turns on the sandbox account rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import linq
import pytest
from linq import LinqAPIV3

from tests.e2e.test_messages import TEXT, wait_for_events
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess

EVENTS = ["chat.created", "message.sent", "phone_number.status_updated"]


def sandbox(server: ServerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.put(f"http://127.0.0.1:{server.port}/sandbox/{path}", json=body,
                         headers={"Authorization": f"Bearer {server.api_key}"})  # fmt: skip
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def refused(call: Callable[[], object], error: type[linq.APIStatusError], status: int, code: int, message: str) -> None:
    with pytest.raises(error) as raised:
        call()
    assert raised.value.status_code == status
    envelope = raised.value.response.json()
    assert envelope["success"] is False and envelope["trace_id"] == raised.value.response.headers["x-trace-id"]
    assert envelope["error"]["status"] == status and envelope["error"]["code"] == code
    assert envelope["error"]["message"] == message


def test_every_gate_answers_its_documented_envelope(sdk: LinqAPIV3, server: ServerProcess) -> None:
    strict = sdk.with_options(max_retries=0)
    first, second = server.phone_numbers
    alice, blocked = new_phone(1), new_phone(2)
    dm = strict.chats.create(from_=first, to=[alice], message=TEXT).chat
    blocked_dm = strict.chats.create(from_=second, to=[blocked], message=TEXT).chat

    assert sandbox(server, f"lines/{first}", {"status": "FLAGGED"})["status"] == "FLAGGED"
    ineligible = "Phone number is not eligible to send"
    refused(lambda: strict.chats.messages.send(dm.id, message=TEXT), linq.PermissionDeniedError, 403, 2027, ineligible)
    refused(lambda: strict.chats.create(from_=first, to=[new_phone(3)], message=TEXT), linq.PermissionDeniedError,
            403, 2027, ineligible)  # fmt: skip
    refused(lambda: strict.chats.typing.start(dm.id), linq.PermissionDeniedError, 403, 2027, ineligible)
    assert strict.chats.retrieve(dm.id).id == dm.id  # reads still work

    assert sandbox(server, f"handles/{blocked}", {"services": ["iMessage"], "blocked": True})["blocked"] is True
    refused(lambda: strict.chats.messages.send(blocked_dm.id, message=TEXT), linq.PermissionDeniedError, 403, 2026,
            "Recipient is blocked")  # fmt: skip
    assert strict.chats.create(from_=second, to=[blocked, alice], message=TEXT).chat.is_group

    assert sandbox(server, "account", {"recipients_must_message_first": True})["recipients_must_message_first"]
    stranger = new_phone(4)
    refused(lambda: strict.chats.create(from_=second, to=[stranger], message=TEXT), linq.PermissionDeniedError, 403,
            2008, f"Recipient not allowed: {stranger} must message you first in the sandbox")  # fmt: skip
    sandbox(server, "account", {"recipients_must_message_first": False})

    sandbox(server, f"lines/{second}", {"status": "FLAGGED"})
    refused(lambda: strict.messages.create(to=[new_phone(5)], message=TEXT), linq.ConflictError, 409, 2015,
            "None of your phone numbers is eligible to send")  # fmt: skip


def test_auto_from_fails_over_with_the_continuation_and_webhooks_tell_it(sdk: LinqAPIV3, server: ServerProcess) -> None:
    receiver = Receiver().start()
    try:
        secret = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=EVENTS).signing_secret
        first, second = server.phone_numbers
        alice = new_phone(1)
        original = sdk.messages.create(to=[alice], message=TEXT)
        assert original.from_ == first and original.from_selection.reason == "new_best_number"
        sandbox(server, f"lines/{first}", {"status": "FLAGGED"})

        moved = sdk.messages.create(to=[alice], message=TEXT, continuation_message={"text": "Hi again, new number"})
        assert moved.from_selection.reason == "failover_flagged" and not moved.from_selection.reused_existing_chat
        assert moved.created_new_chat and moved.previous_chat_id == original.chat_id and moved.from_ == second
        assert [part.value for part in moved.message.parts] == ["Hi again, new number"]  # type: ignore[union-attr]

        events = wait_for_events(sdk, secret, receiver, Counter({"chat.created": 2, "message.sent": 2,
                                                                 "phone_number.status_updated": 1}))  # fmt: skip
        (flagged,) = [e.data for e in events if e.event_type == "phone_number.status_updated"]
        assert (flagged.phone_number, flagged.previous_status, flagged.new_status) == (first, "ACTIVE", "FLAGGED")
        created = {e.data.id for e in events if e.event_type == "chat.created"}  # in any order
        assert created == {original.chat_id, moved.chat_id}
        sent = {e.data.id: e.data for e in events if e.event_type == "message.sent"}
        assert sent[moved.message.id].chat.id == moved.chat_id
    finally:
        receiver.stop()
