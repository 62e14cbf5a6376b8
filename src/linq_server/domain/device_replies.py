"""A simulated person who answers by themselves: ``replies`` of a sandbox handle.

Each rule is ``{"match": regex, "reply": text, "after_ms": n}``. When a partner message is delivered
to the handle's device, the first rule whose regex finds a match in the message's text answers: a
``device.reply`` job due ``after_ms`` later on the injected clock sends the reply through the inbound
path (``message.received``). Pure rules here; the job lives in ``domain/auto_replies.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.message_parts import MAX_TEXT_CHARS

REPLY_JOB = "device.reply"
REPLY_JOB_ATTEMPTS = 5
MAX_REPLIES = 20
# Python's re has no time limit: short patterns keep a sandbox's own catastrophic regex small.
MAX_PATTERN_CHARS = 500
MAX_AFTER_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Reply:
    match: str
    reply: str
    after_ms: int

    def as_json(self) -> dict[str, object]:
        return {"match": self.match, "reply": self.reply, "after_ms": self.after_ms}


def check_replies(raw: object) -> tuple[Reply, ...]:
    """At most ``MAX_REPLIES`` rules, each with a compilable regex, a non-empty reply and a delay in range
    (400/1005 naming the rule otherwise)."""
    if not isinstance(raw, list):
        raise InvalidParameterValue("replies must be a list")
    if len(raw) > MAX_REPLIES:
        raise InvalidParameterValue(f"replies holds at most {MAX_REPLIES} rules")
    return tuple(_check_rule(i, rule) for i, rule in enumerate(raw))


def _check_rule(index: int, rule: object) -> Reply:
    where = f"replies[{index}]"
    if not isinstance(rule, dict):
        raise InvalidParameterValue(f"{where} must be an object with match, reply and after_ms")
    pattern, text, after_ms = rule.get("match"), rule.get("reply"), rule.get("after_ms", 0)
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidParameterValue(f"{where}.match must be a regular expression of at most {MAX_PATTERN_CHARS} "
                                    "characters")  # fmt: skip
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        raise InvalidParameterValue(f"{where}.match is not a valid regular expression: {error}") from error
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise InvalidParameterValue(f"{where}.reply must be text of 1 to {MAX_TEXT_CHARS} characters")
    if not isinstance(after_ms, int) or isinstance(after_ms, bool) or not 0 <= after_ms <= MAX_AFTER_MS:
        raise InvalidParameterValue(f"{where}.after_ms must be an integer between 0 and {MAX_AFTER_MS}")
    unknown = set(rule) - {"match", "reply", "after_ms"}
    if unknown:
        raise InvalidParameterValue(f"{where} has unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    return Reply(pattern, text, after_ms)


def text_of(parts: list[dict[str, Any]]) -> str:
    """What a rule reads of a message: its text parts, one per line."""
    return "\n".join(str(part["value"]) for part in parts if part.get("type") == "text")


def answer_to(replies: tuple[Reply, ...], parts: list[dict[str, Any]]) -> Reply | None:
    """The first rule whose regex finds a match in the message's text, if any."""
    text = text_of(parts)
    return next((rule for rule in replies if re.search(rule.match, text)), None)
