"""Messages end to end: a real server process, the official SDK in strict mode, a real webhook receiver."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import linq
import pytest
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess

EVENTS = ["message.sent", "message.delivered", "message.read", "message.failed", "message.edited",
          "reaction.added", "reaction.removed"]  # fmt: skip
TEXT: Any = {"parts": [{"type": "text", "value": "Hello"}]}


def unwrapped(sdk: LinqAPIV3, secret: str, receiver: Receiver) -> list[Any]:
    verifier = sdk.with_options(webhook_secret=secret)
    return [verifier.webhooks.unwrap(hit.text, headers=hit.headers) for hit in receiver.received]


def wait_for_events(
    sdk: LinqAPIV3, secret: str, receiver: Receiver, wanted: Counter[str], timeout: float = 30
) -> list[Any]:
    """Wait until the receiver has at least ``wanted`` distinct events of each type (a state, not a sleep).

    Delivery is at least once: a webhook whose answer came late under load is sent again, and counts once."""
    deadline = time.monotonic() + timeout
    while True:
        events = unwrapped(sdk, secret, receiver)
        have = Counter(event.event_type for event in {event.event_id: event for event in events}.values())
        if all(have[kind] >= count for kind, count in wanted.items()):
            return events
        if time.monotonic() > deadline:
            raise TimeoutError(f"have {dict(have)}, want {dict(wanted)}")
        time.sleep(0.02)


def test_send_list_read_edit_react_delete_with_the_sdk(sdk: LinqAPIV3, server: ServerProcess) -> None:
    receiver = Receiver().start()
    try:
        secret = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=EVENTS).signing_secret
        line, iphone = server.phone_numbers[0], new_phone(1)
        chat = sdk.chats.create(from_=line, to=[iphone], message=TEXT).chat
        sent = sdk.chats.messages.send(chat.id, message={"parts": [{"type": "text", "value": "second"}],
                                                           "idempotency_key": "e2e-1"})  # fmt: skip
        again = sdk.chats.messages.send(chat.id, message={"parts": [{"type": "text", "value": "second"}],
                                                            "idempotency_key": "e2e-1"})  # fmt: skip
        assert sent.chat_id == chat.id and again.message.id == sent.message.id
        reply = sdk.chats.messages.send(chat.id, message={"parts": [{"type": "text", "value": "reply"}],
                                                            "reply_to": {"message_id": sent.message.id}})  # fmt: skip
        events = wait_for_events(sdk, secret, receiver, Counter({"message.sent": 3, "message.delivered": 3}))
        assert {e.data.id for e in events if e.event_type == "message.delivered"} == {
            chat.message.id,
            sent.message.id,
            reply.message.id,
        }
        listed = list(sdk.chats.messages.list(chat.id, limit=2))
        assert [m.id for m in listed] == [reply.message.id, sent.message.id, chat.message.id]
        assert all(m.delivery_status == "delivered" for m in listed)
        thread = sdk.messages.list_messages_thread(sent.message.id, order="desc")
        assert [m.id for m in thread] == [reply.message.id, sent.message.id]

        edited = sdk.messages.update(sent.message.id, text="second, edited")
        assert edited.parts and edited.parts[0].value == "second, edited"  # type: ignore[union-attr]
        ack = sdk.messages.add_reaction(sent.message.id, operation="add", type="like")
        assert ack.status == "accepted"
        events = wait_for_events(sdk, secret, receiver, Counter({"message.edited": 1, "reaction.added": 1}))
        (edit_event,) = [e for e in events if e.event_type == "message.edited"]
        assert edit_event.data.part.text == "second, edited"
        retrieved = sdk.messages.retrieve(sent.message.id)
        assert retrieved.parts and retrieved.parts[0].reactions and retrieved.parts[0].reactions[0].type == "like"

        sdk.messages.delete(sent.message.id)
        with pytest.raises(linq.NotFoundError) as gone:
            sdk.messages.retrieve(sent.message.id)
        assert gone.value.body["code"] == 2002  # type: ignore[index]
        with pytest.raises(linq.NotFoundError):
            sdk.chats.messages.send(chat.id, message={"parts": [{"type": "text", "value": "x"}],
                                                      "idempotency_key": "e2e-1"})  # fmt: skip
    finally:
        receiver.stop()


def test_error_rows_through_the_sdk(sdk: LinqAPIV3, server: ServerProcess) -> None:
    strict = sdk.with_options(max_retries=0)
    line, handle = server.phone_numbers[0], new_phone(2)
    chat = strict.chats.create(from_=line, to=[handle], message=TEXT).chat
    unknown = "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10"
    mention: Any = {"parts": [{"type": "text", "value": "x", "mention": handle}]}
    media: Any = {"parts": [{"type": "media", "attachment_id": unknown}]}
    cases: list[tuple[Any, type[linq.APIStatusError], int]] = [
        (lambda: strict.chats.messages.send(unknown, message=TEXT), linq.NotFoundError, 2001),
        (lambda: strict.chats.messages.send(chat.id, message={"parts": []}), linq.BadRequestError, 1004),
        (lambda: strict.chats.messages.send(chat.id, message=mention), linq.ConflictError, 2023),
        (lambda: strict.chats.messages.send(chat.id, message=media), linq.NotFoundError, 2003),
        (lambda: strict.messages.update(chat.message.id, text=""), linq.BadRequestError, 1005),
        (lambda: strict.messages.retrieve(unknown), linq.NotFoundError, 2002),
        (lambda: strict.messages.add_reaction(chat.message.id, operation="remove", type="sticker"),
         linq.BadRequestError, 1005),
        (lambda: strict.chats.create(from_=new_phone(0), to=[handle], message=TEXT), linq.PermissionDeniedError, 2006),
    ]  # fmt: skip
    for call, error, code in cases:
        with pytest.raises(error) as raised:
            call()
        assert raised.value.body["code"] == code  # type: ignore[index]
    for _ in range(29):  # with the chat's first message, 30 in this minute
        strict.chats.messages.send(chat.id, message=TEXT)
    with pytest.raises(linq.RateLimitError) as limited:
        strict.chats.messages.send(chat.id, message=TEXT)
    retry_after = int(limited.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 60 and limited.value.body["retry_after"] == retry_after  # type: ignore[index]


def test_kill_9_with_sends_accepted_and_not_delivered_completes_every_lifecycle(
    fresh_database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver().start()
    server = ServerProcess(
        fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)],
        extra_env={"LINQ_SERVER_JOB_LEASE_SECONDS": "3", "LINQ_SERVER_CARRIER_DELAY_MS": "1500",
                   "LINQ_SERVER_MESSAGES_PER_MINUTE": "1000"},
    ).start()  # fmt: skip
    try:
        with LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            secret = sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=EVENTS).signing_secret
            chat = sdk.chats.create(from_=server.phone_numbers[0], to=[new_phone(1)], message=TEXT).chat
            ids = {chat.message.id} | {sdk.chats.messages.send(chat.id, message=TEXT).message.id for _ in range(39)}
            keyed: Any = {**TEXT, "idempotency_key": "before-the-crash"}
            ids.add(sdk.chats.messages.send(chat.id, message=keyed).message.id)
            server.kill()  # devices take 1.5 s: nothing has been delivered yet
            server.start()
            assert sdk.chats.messages.send(chat.id, message=keyed).message.id in ids  # the key outlives the process
            events = wait_for_events(sdk, secret, receiver, Counter({"message.sent": 41, "message.delivered": 41}),
                                     timeout=90)  # fmt: skip
    finally:
        server.stop()
        receiver.stop()
    for kind in ("message.sent", "message.delivered"):
        assert {e.data.id for e in events if e.event_type == kind} == ids, f"a {kind} was lost"
    event_ids = Counter(e.event_id for e in events)
    # Re-sends of the same event (same webhook-id) only: never two events for one step of one message.
    assert len(event_ids) == 82
