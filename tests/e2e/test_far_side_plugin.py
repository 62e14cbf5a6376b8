"""The far side end to end, as a user of the pytest plugin writes it: a handle texts in, reacts, reads,
types until the indicator lapses on the manual clock, and answers by itself; linq-python in strict mode
reads what they did, and the plugin's receiver checks every webhook's signatures."""

from __future__ import annotations

import linq as linq_sdk
import pytest

from linq_server.testing import LinqSandbox, LinqServer
from linq_server.testing.sandbox import SandboxError

HI = {"parts": [{"type": "text", "value": "hi"}]}
# In the sandbox, numbers ending in 1-3 are iPhones; one ending in 9 is a basic phone (SMS only).
ALICE, BOB, CAROL, BASIC = "+14155550101", "+14155550102", "+14155550103", "+14155550109"


def dm(sandbox: LinqSandbox, handle: str, text: str = "hi") -> tuple[str, str]:
    """The partner texts ``handle``; returns (chat id, message id) once the device has it."""
    chat = sandbox.client.chats.create(
        from_=sandbox.lines[0], to=[handle], message={"parts": [{"type": "text", "value": text}]}
    ).chat
    sandbox.webhooks.wait_for("message.delivered", where=lambda hook: hook.data["id"] == chat.message.id)
    return chat.id, chat.message.id


def test_a_handle_texts_in_and_the_sdk_reads_the_message(linq: LinqSandbox) -> None:
    sent = linq.phone(ALICE).send("are you open today?", to=linq.lines[0])
    received = linq.webhooks.wait_for("message.received")
    created = linq.webhooks.wait_for("chat.created")
    assert created.data["id"] == sent["chat_id"] == received.data["chat"]["id"]
    assert received.data["id"] == sent["id"] and received.data["sender_handle"]["handle"] == ALICE
    message = linq.client.messages.retrieve(sent["id"])  # strict: the shape is linq-python's Message
    assert message.is_from_me is False and message.parts[0].value == "are you open today?"  # type: ignore[union-attr]
    linq.phone(ALICE).send("STOP", chat_id=sent["chat_id"])
    with pytest.raises(linq_sdk.PermissionDeniedError) as refused:
        linq.client.chats.messages.send(sent["chat_id"], message=HI)
    assert refused.value.body["code"] == 2024  # type: ignore[index]
    assert linq.webhooks.rejected == []


def test_a_handle_reacts_then_reads(linq: LinqSandbox) -> None:
    chat_id, message_id = dm(linq, ALICE)
    linq.phone(ALICE).react(message_id, "love")
    added = linq.webhooks.wait_for("reaction.added")
    assert added.data["is_from_me"] is False and added.data["from_handle"]["handle"] == ALICE
    assert added.data["message_id"] == message_id and added.data["reaction_type"] == "love"
    linq.phone(ALICE).react(message_id, "love", remove=True)
    assert linq.webhooks.wait_for("reaction.removed").data["reaction_id"] == added.data["reaction_id"]
    linq.phone(ALICE).read(chat_id)
    read = linq.webhooks.wait_for("message.read")
    assert read.data["id"] == message_id and read.data["read_at"]
    message = linq.client.messages.retrieve(message_id)
    assert message.delivery_status == "read" and message.parts[0].reactions == []  # type: ignore[union-attr]


def test_a_reaction_over_sms_and_a_stranger_in_a_group_are_refused(linq: LinqSandbox) -> None:
    _chat_id, sms_message = dm(linq, BASIC)
    with pytest.raises(SandboxError, match=r"409 .*2017.*SMS"):
        linq.phone(BASIC).react(sms_message, "like")
    group = linq.client.chats.create(from_=linq.lines[0], to=[ALICE, BOB], message=HI).chat.id
    with pytest.raises(SandboxError, match=r"409 .*2015.*not a participant"):
        linq.phone(CAROL).send("let me in", chat_id=group)
    assert linq.webhooks.of_type("reaction.added") == [] and linq.webhooks.of_type("message.received") == []


def test_a_handle_answers_by_itself_when_the_clock_moves(linq: LinqSandbox) -> None:
    linq.phone(ALICE).set(
        ["iMessage", "RCS", "SMS"], replies=[{"match": "(?i)lunch", "reply": "Sure, 12:30?", "after_ms": 60_000}]
    )
    chat_id, _message_id = dm(linq, ALICE, "Lunch tomorrow?")
    linq.clock.advance(59)
    assert linq.webhooks.of_type("message.received") == []  # not due yet: nothing can have run
    linq.clock.advance(2)
    reply = linq.webhooks.wait_for("message.received")
    assert reply.data["chat"]["id"] == chat_id and reply.data["sender_handle"]["handle"] == ALICE
    assert reply.data["parts"][0]["value"] == "Sure, 12:30?"
    newest = linq.client.chats.messages.list(chat_id).messages[0]
    assert newest.id == reply.data["id"] and newest.is_from_me is False


def test_a_handles_typing_lapses_after_90_seconds_of_clock(linq: LinqSandbox) -> None:
    group = linq.client.chats.create(from_=linq.lines[0], to=[ALICE, BOB], message=HI).chat.id
    linq.phone(BOB).typing(group)
    assert linq.webhooks.wait_for("chat.typing_indicator.started").data["actor_handle"]["handle"] == BOB
    linq.clock.advance(89)
    assert linq.webhooks.of_type("chat.typing_indicator.stopped") == []
    linq.clock.advance(2)
    stopped = linq.webhooks.wait_for("chat.typing_indicator.stopped")
    assert stopped.data["chat_id"] == group and stopped.data["actor_handle"]["handle"] == BOB


def test_one_partners_far_side_never_reaches_another(linq: LinqSandbox, linq_server: LinqServer) -> None:
    other = linq_server.new_sandbox()
    try:
        chat_id, message_id = dm(linq, ALICE, "lunch?")
        other.phone(ALICE).set(["iMessage"], replies=[{"match": "", "reply": "other's bot", "after_ms": 0}])
        with pytest.raises(SandboxError, match="404"):
            other.phone(ALICE).send("hi", chat_id=chat_id)
        with pytest.raises(SandboxError, match="403"):
            other.phone(ALICE).send("hi", to=linq.lines[0])
        with pytest.raises(SandboxError, match="404"):
            other.phone(ALICE).react(message_id, "like")
        own_chat, _ = dm(other, ALICE, "hello")
        assert other.webhooks.wait_for("message.received").data["chat"]["id"] == own_chat
        linq.clock.advance(1)
        assert linq.webhooks.of_type("message.received") == []
        assert {chat.id for chat in linq.client.chats.list_chats().chats} == {chat_id}
    finally:
        other.close()
