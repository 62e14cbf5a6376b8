"""A chat with its participants, as the rules see it (JSON shapes live in ``linq_server.shapes``)."""

from __future__ import annotations

from dataclasses import dataclass

from linq_server.store.chats import ChatRow
from linq_server.store.participants import Participant
from linq_server.vocabulary import ParticipantStatus


@dataclass(frozen=True, slots=True)
class ChatView:
    chat: ChatRow
    participants: list[Participant]

    @property
    def me(self) -> Participant:
        return next(p for p in self.participants if p.is_me)

    def active(self) -> list[Participant]:
        return [p for p in self.participants if p.status == ParticipantStatus.ACTIVE]

    def participant(self, handle: str) -> Participant | None:
        return next((p for p in self.participants if p.handle == handle), None)


def display_name(view: ChatView) -> str:
    """The name a group was given, else the other active participants' handles, comma-separated."""
    if view.chat.custom_name:
        return view.chat.custom_name
    return ", ".join(p.handle for p in view.active() if not p.is_me)
