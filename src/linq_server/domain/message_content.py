"""Message content: the rules on ``parts``, and the stricter rules of a new chat's first message."""

from __future__ import annotations

import itertools
import mimetypes
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from linq_server.domain.errors import InvalidMessageContent, InvalidParameterValue, LinqError

MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
MAX_TEXT_CHARS = 10_000
MAX_URL_CHARS = 2_048
_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_ALONE = ("link", "imessage_app", "app_clip")


class AttachmentNotFound(LinqError):
    status, code, default_message = 404, 2003, "Attachment not found"


def _https_url(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise InvalidMessageContent(f"{what} must be a URL of at most {MAX_URL_CHARS} characters")
    if not is_web_url(value):
        raise InvalidMessageContent(f"{what} must be an absolute http(s) URL")
    return value


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL that parses."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_parts(parts: object) -> list[dict[str, Any]]:
    """Validate request parts (400/1004) and return them as the API shows them back."""
    if not isinstance(parts, list) or not parts:
        raise InvalidMessageContent("parts must list at least one part")
    if len(parts) > MAX_PARTS:
        raise InvalidMessageContent(f"A message has at most {MAX_PARTS} parts")
    kinds = [part.get("type") if isinstance(part, dict) else None for part in parts]
    if any(kind in _ALONE for kind in kinds) and len(parts) > 1:
        raise InvalidMessageContent("A link, iMessage app or App Clip part must be the only part")
    if any(a == b == "text" for a, b in itertools.pairwise(kinds)):
        raise InvalidMessageContent("Two text parts cannot follow each other")
    if sum(1 for part in parts if isinstance(part, dict) and part.get("type") == "media" and part.get("url")) > (
        MAX_URL_MEDIA_PARTS
    ):
        raise InvalidMessageContent(f"At most {MAX_URL_MEDIA_PARTS} media parts may use a url")
    return [_check_part(part) for part in parts]


def _check_part(part: object) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise InvalidMessageContent("Each part must be an object")
    kind = part.get("type")
    if kind == "text":
        value = part.get("value")
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
            raise InvalidMessageContent(f"A text part needs a value of 1 to {MAX_TEXT_CHARS} characters")
        return {"type": "text", "value": value, "reactions": []}
    if kind == "link":
        return {"type": "link", "value": _https_url(part.get("value"), "A link part's value"), "reactions": []}
    if kind == "media":
        url, attachment_id = part.get("url"), part.get("attachment_id")
        if (url is None) == (attachment_id is None):
            raise InvalidMessageContent("A media part needs exactly one of url or attachment_id")
        if attachment_id is not None:
            raise AttachmentNotFound()  # no attachment store yet: no attachment id can be known
        url = _https_url(url, "A media part's url")
        if urlsplit(url).scheme != "https":
            raise InvalidMessageContent("A media part's url must use https")
        filename = urlsplit(url).path.rsplit("/", 1)[-1] or "attachment"
        return {
            "type": "media", "id": str(uuid.uuid4()), "url": url, "filename": filename,
            "mime_type": mimetypes.guess_type(filename)[0] or "application/octet-stream", "size_bytes": 0,
            "reactions": [],
        }  # fmt: skip
    raise InvalidMessageContent(f"Unsupported part type {kind!r}")


def check_first_message(parts: list[dict[str, Any]], *, has_reply_to: bool, has_effect: bool) -> None:
    """A new chat's first message: no link part, no URL in any text, no reply_to, no effect (400/1005)."""
    if any(part["type"] == "link" for part in parts):
        raise InvalidParameterValue("The first message of a new chat cannot contain a link")
    if any(part["type"] == "text" and _URL_IN_TEXT.search(part["value"]) for part in parts):
        raise InvalidParameterValue("The first message of a new chat cannot contain a URL")
    if has_reply_to:
        raise InvalidParameterValue("The first message of a new chat cannot be a reply")
    if has_effect:
        raise InvalidParameterValue("The first message of a new chat cannot have an effect")
