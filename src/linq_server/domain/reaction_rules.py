"""Reactions on a message (api-core §12.7): tapbacks, custom emoji and stickers, on iMessage and RCS.

Stickers are iMessage only and cannot be removed. Reacting to your own messages is allowed (iMessage
allows tapping back on your own bubble).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from linq_server.domain.errors import InvalidParameterValue, MissingRequiredField, ParticipantServiceMismatch

TAPBACKS = frozenset({"love", "like", "dislike", "laugh", "emphasize", "question"})
TYPES = TAPBACKS | {"custom", "sticker"}
SCALE_RANGE = (0.05, 2.5)
DEFAULT_SCALE = {"image": 1.0, "emoji": 0.5}


@dataclass(frozen=True, slots=True)
class ReactionRequest:
    operation: str  # add | remove
    type: str
    part_index: int
    custom_emoji: str | None
    sticker: dict[str, Any] | None  # {"emoji"} | {"url"} | {"attachment_id"}, with "placement"


def check_placement(raw: object, *, source: str, current: Mapping[str, float] | None = None) -> dict[str, float]:
    """A sticker's ``{x, y, scale, rotation}``: x and y in -1..1 (400/1005 outside), scale clamped to
    0.05..2.5, rotation in degrees. Omitted fields keep ``current`` (or the defaults)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParameterValue("placement must be an object")
    placed = dict(current or {"x": 0.0, "y": 0.0, "scale": DEFAULT_SCALE[source], "rotation": 0.0})
    for key in ("x", "y", "scale", "rotation"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidParameterValue(f"placement.{key} must be a number")
        placed[key] = float(value)
    if not (-1 <= placed["x"] <= 1 and -1 <= placed["y"] <= 1):
        raise InvalidParameterValue("placement.x and placement.y must lie between -1 and 1")
    placed["scale"] = min(max(placed["scale"], SCALE_RANGE[0]), SCALE_RANGE[1])
    return placed


def check_reaction_request(body: Mapping[str, Any]) -> ReactionRequest:
    operation, kind = body.get("operation"), body.get("type")
    if operation is None or kind is None:
        raise MissingRequiredField("Missing required field: operation and type")
    if operation not in ("add", "remove"):
        raise InvalidParameterValue("operation must be add or remove")
    if not isinstance(kind, str) or kind not in TYPES:
        raise InvalidParameterValue(f"type must be one of {', '.join(sorted(TYPES))}")
    part_index = body.get("part_index", 0)
    if not isinstance(part_index, int) or isinstance(part_index, bool) or part_index < 0:
        raise InvalidParameterValue("part_index must be an integer of at least 0")
    custom_emoji = body.get("custom_emoji")
    if (kind == "custom") != (custom_emoji is not None):
        raise InvalidParameterValue("custom_emoji is required for, and only for, type custom")
    if custom_emoji is not None and (not isinstance(custom_emoji, str) or not custom_emoji):
        raise InvalidParameterValue("custom_emoji must be an emoji")
    sources = {key: body[key] for key in ("emoji", "url", "attachment_id") if body.get(key) is not None}
    sticker = None
    if kind == "sticker":
        if operation == "remove":
            raise InvalidParameterValue("Stickers cannot be removed")
        if len(sources) != 1 or not all(isinstance(v, str) and v for v in sources.values()):
            raise InvalidParameterValue("A sticker needs exactly one of emoji, url or attachment_id")
        source = "emoji" if "emoji" in sources else "image"
        sticker = {**sources, "placement": check_placement(body.get("placement"), source=source)}
    elif sources or body.get("placement") is not None:
        raise InvalidParameterValue("emoji, url, attachment_id and placement go with type sticker only")
    return ReactionRequest(operation, kind, part_index, custom_emoji, sticker)


def check_reaction(request: ReactionRequest, *, service: str, part_count: int) -> None:
    """Reactions need iMessage or RCS (409/2017), stickers iMessage; the part must exist (400/1005)."""
    if service not in ("iMessage", "RCS"):
        raise ParticipantServiceMismatch("Reactions are not supported over SMS")
    if request.type == "sticker" and service != "iMessage":
        raise ParticipantServiceMismatch("Stickers can only be placed over iMessage")
    if request.part_index >= part_count:
        raise InvalidParameterValue(f"This message has no part {request.part_index}")
