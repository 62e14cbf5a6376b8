"""A group on a real server process, members added through the official SDK, announced to a receiver."""

from __future__ import annotations

from linq import LinqAPIV3

from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


def group_with_new_members(
    server: ServerProcess, receiver: Receiver, count: int, member_digit: int = 1
) -> tuple[str, str, list[str]]:
    """Subscribe ``receiver`` to ``participant.added``, make a group of three and add ``count`` new members (each
    202 "accepted"); returns the subscription's signing secret, the group's id and the added handles."""
    with LinqAPIV3(api_key=server.api_key, base_url=server.base_url, _strict_response_validation=True) as sdk:
        secret = sdk.webhook_subscriptions.create(
            target_url=receiver.url, subscribed_events=["participant.added"]
        ).signing_secret
        chat_id = sdk.chats.create(
            from_=server.phone_numbers[0], to=[new_phone(1), new_phone(2)],
            message={"parts": [{"type": "text", "value": "hi"}]},
        ).chat.id  # fmt: skip
        handles = [new_phone(member_digit) for _ in range(count)]
        for handle in handles:
            assert sdk.chats.participants.add(chat_id, handle=handle).status == "accepted"
    return secret, chat_id, handles
