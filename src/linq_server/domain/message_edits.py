"""Editing a sent message (api-core §12.5): your own outbound messages, iMessage only, a text part,
at most five edits, within fifteen minutes of the send.

The spec leaves the errors of the limits open; we answer 409/2015 (state conflict) for "not yours",
"too many edits" and "too late", 409/2017 for a non-iMessage message, and 400/1005 for a bad part.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from linq_server.domain.errors import (
    InvalidParameterValue,
    MissingRequiredField,
    ParticipantServiceMismatch,
    StateConflict,
)
from linq_server.domain.message_parts import MAX_TEXT_CHARS

MAX_EDITS = 5
EDIT_WINDOW = timedelta(minutes=15)


def check_edit_request(text: object, part_index: object) -> tuple[str, int]:
    """The body of ``PATCH /v3/messages/{id}``: ``text`` (1..10000 characters), ``part_index`` ≥ 0 (the route
    passes 0 when it is left out)."""
    if text is None:
        raise MissingRequiredField("Missing required field: text")
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT_CHARS:
        raise InvalidParameterValue(f"text must be 1 to {MAX_TEXT_CHARS} characters")
    # Not nullable in the SDK (MessageUpdateParams.part_index: int): null is refused, not read as part 0.
    if not isinstance(part_index, int) or isinstance(part_index, bool) or part_index < 0:
        raise InvalidParameterValue("part_index must be an integer of at least 0")
    return text, part_index


def check_edit(
    *,
    is_from_me: bool,
    service: str,
    parts: Sequence[dict[str, Any]],
    part_index: int,
    edits_so_far: int,
    sent_at: datetime,
    now: datetime,
) -> None:
    """Whether this message may be edited now at ``part_index``."""
    if not is_from_me:
        raise StateConflict("Only messages sent by your line can be edited")
    if service != "iMessage":
        raise ParticipantServiceMismatch("Only iMessage messages can be edited")
    if part_index >= len(parts) or parts[part_index]["type"] != "text":
        raise InvalidParameterValue(f"Part {part_index} is not a text part of this message")
    if edits_so_far >= MAX_EDITS:
        raise StateConflict(f"A message can be edited at most {MAX_EDITS} times")
    if now - sent_at > EDIT_WINDOW:
        raise StateConflict("A message can be edited only within 15 minutes of sending it")
