"""Helpers for message tests: send through the API, and read webhooks as the SDK unwraps them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linq import LinqAPIV3

from tests.conftest import World
from tests.support.receiver import Receiver

MESSAGE_EVENTS = ["message.sent", "message.delivered", "message.read", "message.failed", "message.received",
                  "message.edited", "reaction.added", "reaction.removed", "chat.created"]  # fmt: skip


def text(value: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}], **extra}


@dataclass
class Hooks:
    """A real receiver subscribed to message events; ``events`` unwraps what arrived with the official SDK."""

    world: World
    receiver: Receiver
    secret: str

    @classmethod
    async def subscribe(cls, world: World, receiver: Receiver, url: str | None = None) -> Hooks:
        created = await world.subscribe(url or receiver.url, MESSAGE_EVENTS)
        return cls(world, receiver, str(created["signing_secret"]))

    async def settle(self, advance: float = 0.0) -> None:
        """Move the clock, then run every job that is due (webhook deliveries included)."""
        if advance:
            self.world.clock.advance(advance)
        await self.world.worker.run_until_idle()

    def events(self, event_type: str | None = None, message_id: str | None = None) -> list[Any]:
        sdk = LinqAPIV3(api_key="unused", webhook_secret=self.secret, base_url="http://unused")
        unwrapped = [sdk.webhooks.unwrap(hit.text, headers=hit.headers) for hit in self.receiver.received]
        return [
            event for event in unwrapped
            if (event_type is None or event.event_type == event_type)
            and (message_id is None or _message_id(event) == message_id)
        ]  # fmt: skip

    def types(self, message_id: str) -> list[str]:
        return [event.event_type for event in self.events(message_id=message_id)]


def _message_id(event: Any) -> str | None:
    data = event.data
    return getattr(data, "message_id", None) or getattr(data, "id", None)


async def new_chat(world: World, to: list[str], message: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await world.http.post("/v3/chats", json={"from": world.partner.lines[0], "to": to,
                                                        "message": message or text()})  # fmt: skip
    assert response.status_code in (200, 201), response.text
    chat: dict[str, Any] = response.json()["chat"]
    return chat


async def send(world: World, chat_id: str, message: dict[str, Any] | None = None, **extra: Any) -> Any:
    return await world.http.post(f"/v3/chats/{chat_id}/messages", json={"message": message or text(), **extra})
