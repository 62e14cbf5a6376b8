"""The content rules of a message (api-core §13): ``parts`` of every type the SDK models, the effect,
``reply_to``, ``preferred_service`` and the idempotency key. Pure: values in, a checked value or a
typed error out. What needs the chat (mentions only in groups, iMessage-only parts) is ``check_for_chat``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from linq_server.domain.errors import InvalidMessageContent, InvalidParameterValue
from linq_server.domain.handles import parse_handle
from linq_server.domain.media_rules import url_file
from linq_server.domain.message_errors import (
    AppClipServiceUnsupported,
    IMessageOnlyContent,
    InvalidIMessageApp,
    MentionInDirectChat,
)

MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
MAX_TEXT_CHARS = 10_000
MAX_URL_CHARS = 2_048
MAX_DATA_URL_CHARS = 16_384
MAX_INLINE_STICKERS = 100
MAX_STICKER_IMAGES = 10
MAX_IDEMPOTENCY_KEY_CHARS = 255
SERVICES = ("iMessage", "RCS", "SMS")
STYLES = frozenset({"bold", "italic", "strikethrough", "underline"})
ANIMATIONS = frozenset({"big", "small", "shake", "nod", "explode", "ripple", "bloom", "jitter"})
EFFECTS = {
    "screen": frozenset({"confetti", "fireworks", "lasers", "sparkles", "celebration", "hearts", "love", "balloons",
                         "happy_birthday", "echo", "spotlight"}),
    "bubble": frozenset({"slam", "loud", "gentle", "invisible"}),
}  # fmt: skip
_ALONE = ("link", "imessage_app", "app_clip")
_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_TEAM_ID = re.compile(r"[A-Z0-9]{10}")
_LAYOUT_VISIBLE = ("caption", "subcaption", "trailing_caption", "trailing_subcaption", "image_url")
_LAYOUT_FIELDS = (*_LAYOUT_VISIBLE, "image_title", "image_subtitle")


@dataclass(frozen=True, slots=True)
class MessageContent:
    """Checked content. ``parts`` are shaped as responses show them (reactions are added when read)
    once ``message_media`` has resolved their media: a media part or inline sticker given by
    ``attachment_id`` is listed in ``attachment_ids``; a media part by URL still lacks id and size."""

    parts: list[dict[str, Any]]
    attachment_ids: list[str]
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    preferred_service: str | None
    idempotency_key: str | None


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _char_boundaries(text: str) -> set[int]:
    """Offsets, in UTF-16 code units, where a character starts or the text ends."""
    return set(itertools.accumulate((2 if ord(char) > 0xFFFF else 1 for char in text), initial=0))


def is_web_url(value: object, *, https_only: bool = False) -> bool:
    """An absolute http(s) URL (https only if asked) that parses."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    schemes = ("https",) if https_only else ("http", "https")
    return parts.scheme in schemes and bool(parts.netloc)


def _url(value: object, what: str, *, https_only: bool = False) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL_CHARS:
        raise InvalidMessageContent(f"{what} must be a URL of at most {MAX_URL_CHARS} characters")
    if not is_web_url(value, https_only=https_only):
        raise InvalidMessageContent(f"{what} must be an absolute {'https' if https_only else 'http(s)'} URL")
    return value


def _range(raw: object, boundaries: set[int], what: str) -> tuple[int, int]:
    """A ``[start, end)`` range in UTF-16 code units that starts and ends on character boundaries."""
    if (
        not isinstance(raw, list) or len(raw) != 2
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw)
    ):  # fmt: skip
        raise InvalidMessageContent(f"{what} must be [start, end]")
    start, end = raw
    if not 0 <= start < end <= max(boundaries):
        raise InvalidMessageContent(f"{what} must lie within the text and not be empty")
    if start not in boundaries or end not in boundaries:
        raise InvalidMessageContent(f"{what} cannot split a character")
    return start, end


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _decorations(raw: object, boundaries: set[int]) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidMessageContent("text_decorations must be a list")
    checked: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidMessageContent("Each text decoration must be an object")
        span = _range(item.get("range"), boundaries, "A text decoration's range")
        style, animation = item.get("style"), item.get("animation")
        if (style is None) == (animation is None):
            raise InvalidMessageContent("A text decoration needs exactly one of style or animation")
        if style is not None and (not isinstance(style, str) or style not in STYLES):
            raise InvalidMessageContent(f"Unknown text style {style!r}")
        if animation is not None and (not isinstance(animation, str) or animation not in ANIMATIONS):
            raise InvalidMessageContent(f"Unknown text animation {animation!r}")
        checked.append({"range": list(span), "style": style, "animation": animation})
    for a, b in itertools.combinations(checked, 2):
        if (a["animation"] or b["animation"]) and _overlap(tuple(a["range"]), tuple(b["range"])):
            raise InvalidMessageContent("An animation range cannot overlap another decoration")
    return checked or None


def _inline_stickers(
    raw: object, boundaries: set[int], decorations: list[dict[str, Any]] | None, attachment_ids: list[str]
) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_INLINE_STICKERS:
        raise InvalidMessageContent(f"inline_stickers must list at most {MAX_INLINE_STICKERS} stickers")
    checked: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidMessageContent("Each inline sticker must be an object")
        span = _range(item.get("range"), boundaries, "An inline sticker's range")
        url, attachment_id = item.get("url"), item.get("attachment_id")
        if (url is None) == (attachment_id is None):
            raise InvalidMessageContent("An inline sticker needs exactly one of url or attachment_id")
        sticker: dict[str, Any] = {"range": list(span)}
        if attachment_id is not None:
            sticker["id"] = _attachment_id(attachment_id, attachment_ids)
        else:
            sticker["url"] = _url(url, "An inline sticker's url", https_only=True)
        checked.append(sticker)
    spans = [tuple(s["range"]) for s in checked] + [tuple(d["range"]) for d in decorations or []]
    for i, a in enumerate(spans[: len(checked)]):
        if any(_overlap(a, b) for b in spans[i + 1 :]):
            raise InvalidMessageContent("Inline stickers cannot overlap each other or a text decoration")
    if len({s.get("id") or s.get("url") for s in checked}) > MAX_STICKER_IMAGES:
        raise InvalidMessageContent(f"A part may use at most {MAX_STICKER_IMAGES} different sticker images")
    return checked or None


def _attachment_id(raw: object, attachment_ids: list[str]) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidMessageContent("attachment_id must be a string")
    attachment_ids.append(raw)
    return raw


def _text_part(part: Mapping[str, Any], attachment_ids: list[str]) -> dict[str, Any]:
    value = part.get("value")
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        raise InvalidMessageContent(f"A text part needs a value of 1 to {MAX_TEXT_CHARS} characters")
    boundaries = _char_boundaries(value)
    decorations = _decorations(part.get("text_decorations"), boundaries)
    stickers = _inline_stickers(part.get("inline_stickers"), boundaries, decorations, attachment_ids)
    mention, mention_range = part.get("mention"), part.get("mention_range")
    mentions = None
    if mention_range is not None and mention is None:
        raise InvalidMessageContent("mention_range requires mention")
    if mention is not None:
        if stickers:
            raise InvalidMessageContent("Inline stickers cannot be combined with a mention")
        handle = parse_handle(mention).value
        span = _range(mention_range, boundaries, "mention_range") if mention_range is not None else (0, max(boundaries))
        mentions = [{"handle": handle, "is_me": False, "range": list(span)}]
    return {
        "type": "text", "value": value, "text_decorations": decorations, "inline_stickers": stickers,
        "mentions": mentions, "mention": mentions[0]["handle"] if mentions else None,
        "mention_range": mentions[0]["range"] if mentions else None,
    }  # fmt: skip


def _media_part(part: Mapping[str, Any], attachment_ids: list[str]) -> dict[str, Any]:
    """A media part as far as its request tells: by attachment only the id, by URL the URL and its file
    name (an extension Linq does not send is 400/5004 here); ``message_media`` resolves the rest."""
    url, attachment_id = part.get("url"), part.get("attachment_id")
    if (url is None) == (attachment_id is None):
        raise InvalidMessageContent("A media part needs exactly one of url or attachment_id")
    if attachment_id is not None:
        return {"type": "media", "id": _attachment_id(attachment_id, attachment_ids)}
    url = _url(url, "A media part's url", https_only=True)
    filename, by_extension = url_file(url)
    return {"type": "media", "id": None, "url": url, "filename": filename, "mime_type": by_extension, "size_bytes": 0}


def _imessage_app_part(part: Mapping[str, Any]) -> dict[str, Any]:
    app, layout = part.get("app"), part.get("layout")
    if not isinstance(app, dict) or not isinstance(layout, dict):
        raise InvalidIMessageApp("An imessage_app part needs app and layout objects")
    bundle_id, name, team_id = app.get("bundle_id"), app.get("name"), app.get("team_id")
    if not isinstance(bundle_id, str) or not bundle_id or ":" in bundle_id:
        raise InvalidIMessageApp("app.bundle_id is required and cannot contain ':'")
    if not isinstance(name, str) or not name.strip():
        raise InvalidIMessageApp("app.name is required")
    if not isinstance(team_id, str) or not _TEAM_ID.fullmatch(team_id):
        raise InvalidIMessageApp("app.team_id must be 10 uppercase letters or digits")
    app_store_id = app.get("app_store_id")
    if app_store_id is not None and (not isinstance(app_store_id, int) or isinstance(app_store_id, bool)):
        raise InvalidIMessageApp("app.app_store_id must be an integer")
    shown = {key: layout.get(key) for key in _LAYOUT_FIELDS}
    if any(value is not None and not isinstance(value, str) for value in shown.values()):
        raise InvalidIMessageApp("layout fields must be strings")
    if not any(shown[key] for key in _LAYOUT_VISIBLE):
        raise InvalidIMessageApp("layout needs a caption, subcaption, trailing caption or image_url")
    if (shown["image_title"] or shown["image_subtitle"]) and not shown["image_url"]:
        raise InvalidIMessageApp("image_title and image_subtitle require image_url")
    if shown["image_url"] is not None:
        _url(shown["image_url"], "layout.image_url", https_only=True)
    url = part.get("url")
    if url is not None and not (
        isinstance(url, str) and url.startswith("data:") and len(url) <= MAX_DATA_URL_CHARS
    ):  # fmt: skip
        url = _url(url, "An imessage_app part's url", https_only=True)
    fallback_text = part.get("fallback_text")
    if fallback_text is not None and not isinstance(fallback_text, str):
        raise InvalidIMessageApp("fallback_text must be a string")
    return {
        "type": "imessage_app",
        "app": {"bundle_id": bundle_id, "name": name, "team_id": team_id, "app_store_id": app_store_id},
        "layout": shown, "url": url or "", "fallback_text": fallback_text or shown["caption"],
    }  # fmt: skip


def _app_clip_part(part: Mapping[str, Any]) -> dict[str, Any]:
    caption = part.get("caption")
    if caption is not None and not isinstance(caption, str):
        raise InvalidMessageContent("An app_clip part's caption must be a string")
    url = _url(part.get("value"), "An app_clip part's value", https_only=True)
    return {"type": "app_clip", "value": url, "title": caption, "description": None, "image_url": None}


def _part(part: object, attachment_ids: list[str]) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise InvalidMessageContent("Each part must be an object")
    kind = part.get("type")
    if kind == "text":
        return _text_part(part, attachment_ids)
    if kind == "media":
        return _media_part(part, attachment_ids)
    if kind == "link":
        return {"type": "link", "value": _url(part.get("value"), "A link part's value")}
    if kind == "imessage_app":
        return _imessage_app_part(part)
    if kind == "app_clip":
        return _app_clip_part(part)
    raise InvalidMessageContent(f"Unsupported part type {kind!r}")


def check_parts(parts: object) -> tuple[list[dict[str, Any]], list[str]]:
    """Rules P1-P7 of api-core §13.3 (400/1004) and each part's own; returns the parts and the
    attachment ids they reference."""
    if parts is not None and not isinstance(parts, list):
        raise InvalidParameterValue("parts must be a list")  # the request's shape, not the message's content
    if not parts:
        raise InvalidMessageContent("parts must list at least one part")
    if len(parts) > MAX_PARTS:
        raise InvalidMessageContent(f"A message has at most {MAX_PARTS} parts")
    kinds = [part.get("type") if isinstance(part, dict) else None for part in parts]
    if any(kind in _ALONE for kind in kinds) and len(parts) > 1:
        raise InvalidMessageContent("A link, iMessage app or App Clip part must be the only part")
    if any(a == b == "text" for a, b in itertools.pairwise(kinds)):
        raise InvalidMessageContent("Two text parts cannot follow each other")
    by_url = sum(1 for part in parts if isinstance(part, dict) and part.get("type") == "media" and part.get("url"))
    if by_url > MAX_URL_MEDIA_PARTS:
        raise InvalidMessageContent(f"At most {MAX_URL_MEDIA_PARTS} media parts may use a url")
    attachment_ids: list[str] = []
    checked = [_part(part, attachment_ids) for part in parts]
    return checked, attachment_ids


def check_effect(raw: object) -> dict[str, Any] | None:
    """``{type?, name?}``: a known screen or bubble effect; the type follows from the name when omitted."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidParameterValue("effect must be an object")
    kind, name = raw.get("type"), raw.get("name")
    if kind is not None and (not isinstance(kind, str) or kind not in EFFECTS):
        raise InvalidParameterValue("effect.type must be screen or bubble")
    if name is None:
        raise InvalidParameterValue("effect.name is required")
    if not isinstance(name, str):
        raise InvalidParameterValue("effect.name must be a string")
    matching = [k for k, names in EFFECTS.items() if name in names and kind in (None, k)]
    if not matching:
        raise InvalidParameterValue(f"Unknown {kind or 'message'} effect {name!r}")
    return {"type": matching[0], "name": name}


def check_reply_to(raw: object) -> dict[str, Any] | None:
    """``{message_id, part_index ≥ 0 (default 0)}``; whether the target exists is the sender's check (404/2002)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("message_id"), str) or not raw["message_id"]:
        raise InvalidParameterValue("reply_to needs a message_id")
    part_index = raw.get("part_index", 0)
    if not isinstance(part_index, int) or isinstance(part_index, bool) or part_index < 0:
        raise InvalidParameterValue("reply_to.part_index must be an integer of at least 0")
    return {"message_id": raw["message_id"], "part_index": part_index}


def check_preferred_service(raw: object) -> str | None:
    if raw is None:
        return None
    if raw not in SERVICES:
        raise InvalidParameterValue(f"preferred_service must be one of {', '.join(SERVICES)}")
    return str(raw)


def check_idempotency_key(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw or len(raw) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidParameterValue(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    return raw


def check_content(raw: object) -> MessageContent:
    """A ``MessageContent`` request object: parts (never with ``experience``), effect, reply_to,
    preferred_service and idempotency_key. Unknown fields are ignored."""
    if not isinstance(raw, dict):
        raise InvalidMessageContent("message must be an object")
    if raw.get("experience") is not None:
        if raw.get("parts") is not None:
            raise InvalidMessageContent("A message carries parts or an experience, never both")
        raise InvalidMessageContent("experience messages are not supported by this server; send parts")
    parts, attachment_ids = check_parts(raw.get("parts"))
    return MessageContent(
        parts=parts,
        attachment_ids=attachment_ids,
        effect=check_effect(raw.get("effect")),
        reply_to=check_reply_to(raw.get("reply_to")),
        preferred_service=check_preferred_service(raw.get("preferred_service")),
        idempotency_key=check_idempotency_key(raw.get("idempotency_key")),
    )


def check_for_chat(content: MessageContent, *, is_group: bool, service: str) -> None:
    """Rules that need the chat: mentions only in groups (409/2023); iMessage app cards (409/2018) and
    App Clips (409/2028) only over iMessage, asked for or chosen."""
    kinds = {part["type"] for part in content.parts}
    if not is_group and any(part["type"] == "text" and part["mentions"] for part in content.parts):
        raise MentionInDirectChat()
    on_imessage = (content.preferred_service or service) == "iMessage" and service == "iMessage"
    if "imessage_app" in kinds and not on_imessage:
        raise IMessageOnlyContent()
    if "app_clip" in kinds and not on_imessage:
        raise AppClipServiceUnsupported()


def has_url(content: MessageContent) -> bool:
    """A link part, or a URL inside a text part (the first message of a new chat may have neither)."""
    return any(
        part["type"] == "link" or (part["type"] == "text" and _URL_IN_TEXT.search(part["value"]))
        for part in content.parts
    )


def check_first_message(content: MessageContent) -> None:
    """A new chat's first message (``POST /v3/chats``): no link part, no URL in any text, no reply_to,
    no effect (400/1005)."""
    if has_url(content):
        raise InvalidParameterValue("The first message of a new chat cannot contain a link or a URL")
    if content.reply_to is not None:
        raise InvalidParameterValue("The first message of a new chat cannot be a reply")
    if content.effect is not None:
        raise InvalidParameterValue("The first message of a new chat cannot have an effect")
