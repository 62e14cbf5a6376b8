"""Every endpoint served, called through the official SDK with strict response validation."""

from __future__ import annotations

import pytest
from linq import LinqAPIV3, NotFoundError

from tests.support.phones import new_phone
from tests.support.server import ServerProcess


def test_chats_through_the_sdk(server: ServerProcess, sdk: LinqAPIV3) -> None:
    line = server.phone_numbers[0]
    created = [
        sdk.chats.create(
            from_=line,
            to=[new_phone(1), new_phone(2), new_phone(3)],
            message={"parts": [{"type": "text", "value": "hi"}]},
        ).chat
        for _ in range(5)
    ]
    listed = [chat.id for chat in sdk.chats.list_chats(limit=2)]  # the SDK follows next_cursor itself
    assert sorted(listed) == sorted(chat.id for chat in created) and len(listed) == 5
    assert [c.id for c in sdk.chats.list_chats(from_=line, to=created[0].handles[1].handle)] == [created[0].id]

    group = created[0].id
    assert sdk.chats.update(group, display_name="Crew").status == "pending"
    sdk.chats.mark_as_read(group)
    assert sdk.chats.leave_chat(group).message == "Leave group chat queued"
    assert sdk.chats.retrieve(group).id == group


def test_webhook_subscriptions_through_the_sdk(server: ServerProcess, sdk: LinqAPIV3) -> None:
    created = sdk.webhook_subscriptions.create(
        target_url="https://example.com/hook?version=2026-02-03", subscribed_events=["participant.added"],
        phone_numbers=[server.phone_numbers[0]],
    )  # fmt: skip
    assert created.signing_secret.startswith("whsec_")
    assert sdk.webhook_subscriptions.retrieve(created.id).target_url == created.target_url
    updated = sdk.webhook_subscriptions.update(created.id, is_active=False, subscribed_events=["participant.removed"])
    assert (updated.is_active, updated.subscribed_events) == (False, ["participant.removed"])
    assert [s.id for s in sdk.webhook_subscriptions.list().subscriptions] == [created.id]
    sdk.webhook_subscriptions.delete(created.id)
    with pytest.raises(NotFoundError):
        sdk.webhook_subscriptions.retrieve(created.id)
    events = sdk.webhook_events.list()
    assert len(events.events) == 75
