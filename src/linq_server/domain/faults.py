"""Fault injection for the sandbox: rules that make a partner's own API calls fail or slow down, and
webhook faults (duplicates, delays, reordering). Pure checks here; storage in ``store/faults.py``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from linq_server.domain.errors import InvalidParameterValue

METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE")
MAX_LATENCY_MS = 60_000
MAX_WEBHOOK_DELAY_MS = 3_600_000
MAX_RULES = 50
API_PREFIX = "/api/partner"
# The Linq code a fault answers with when the rule names none.
DEFAULT_CODES = {400: 1005, 401: 2004, 403: 2005, 404: 2001, 409: 2015, 429: 1007, 500: 3006, 503: 4004}
DEFAULT_MESSAGES = {
    1005: "Invalid parameter value", 2004: "Unauthorized - missing or invalid authentication token",
    2005: "Access denied", 2001: "Resource not found", 2015: "Operation conflicts with current state",
    1007: "Rate limit exceeded", 3006: "Internal server error", 4004: "Service unavailable",
}  # fmt: skip
# A 429 always says when to come back (as Linq's do); the SDK waits that long before its retry.
DEFAULT_RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Calls matching ``method`` and ``path`` fail with ``status``/``code`` and/or wait ``latency_ms`` first,
    with probability ``probability``, for the next ``times`` matching calls (None: every one)."""

    method: str
    path: str
    status: int | None
    code: int | None
    message: str | None
    probability: float
    times: int | None
    latency_ms: int
    retry_after: int | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WebhookFaults:
    """Each delivery is sent twice (same ``webhook-id``) with probability ``duplicate``, held back
    ``delay_ms``, and with ``shuffle`` held back a random extra time of up to a second, so deliveries
    arrive out of order."""

    duplicate: float = 0.0
    delay_ms: int = 0
    shuffle: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return self.duplicate > 0 or self.delay_ms > 0 or self.shuffle


def _check_probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidParameterValue(f"{name} must be between 0 and 1")
    return value


def check_rule(
    *,
    method: str,
    path: str,
    status: int | None,
    code: int | None,
    message: str | None,
    probability: float,
    times: int | None,
    latency_ms: int | None,
    retry_after: int | None,
) -> FaultRule:
    """Validate one rule; fills in Linq's code (and a 429's ``retry_after``) for the status when absent."""
    method = method.upper()
    if method not in METHODS:
        raise InvalidParameterValue(f"method must be one of {', '.join(METHODS)}")
    if not path.startswith("/") or any(c.isspace() for c in path):
        raise InvalidParameterValue("path must be a route such as /v3/chats/{chatId}/messages")
    if status is not None and not 400 <= status <= 599:
        raise InvalidParameterValue("status must be an HTTP error status (400-599)")
    if status is None and (code is not None or message is not None):
        raise InvalidParameterValue("code and message need a status")
    if status is None and not latency_ms:
        raise InvalidParameterValue("a rule needs a status, a latency_ms, or both")
    if times is not None and times < 1:
        raise InvalidParameterValue("times must be at least 1")
    if latency_ms is not None and not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise InvalidParameterValue(f"latency_ms must be between 0 and {MAX_LATENCY_MS}")
    if retry_after is not None and not 0 <= retry_after <= 3600:
        raise InvalidParameterValue("retry_after must be between 0 and 3600 seconds")
    if status is not None and code is None:
        code = DEFAULT_CODES.get(status, 3006 if status >= 500 else 1005)
    if status == 429 and retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER_SECONDS
    return FaultRule(
        method=method, path=path, status=status, code=code, message=message,
        probability=_check_probability("probability", probability), times=times, latency_ms=latency_ms or 0,
        retry_after=retry_after,
    )  # fmt: skip


def check_rule_count(rules: list[FaultRule]) -> list[FaultRule]:
    if len(rules) > MAX_RULES:
        raise InvalidParameterValue(f"at most {MAX_RULES} rules")
    return rules


def check_webhook_faults(*, duplicate: float, delay_ms: int, shuffle: bool) -> WebhookFaults:
    if not 0 <= delay_ms <= MAX_WEBHOOK_DELAY_MS:
        raise InvalidParameterValue(f"webhooks.delay_ms must be between 0 and {MAX_WEBHOOK_DELAY_MS}")
    return WebhookFaults(_check_probability("webhooks.duplicate", duplicate), delay_ms, shuffle)


def rule_from_json(raw: dict[str, Any]) -> FaultRule:
    values: dict[str, Any] = {name: raw.get(name) for name in FaultRule.__slots__}
    return FaultRule(**values)


@lru_cache(maxsize=1024)
def path_pattern(template: str) -> re.Pattern[str]:
    """A route template as a regex: ``{anyName}`` stands for one path segment; the ``/api/partner`` prefix
    is optional, so rules may be written as the SDK's paths (``/v3/...``) or the full ones."""
    template = template.removeprefix(API_PREFIX).rstrip("/") or "/"
    pieces = re.split(r"(\{[^/{}]*\})", template)
    body = "".join("[^/]+" if piece.startswith("{") else re.escape(piece) for piece in pieces)
    return re.compile(f"(?:{re.escape(API_PREFIX)})?{body}/?")


def matches(rule: FaultRule, method: str, path: str) -> bool:
    """Does a call of ``method`` on the concrete ``path`` fall under ``rule``?"""
    return rule.method in ("*", method.upper()) and path_pattern(rule.path).fullmatch(path) is not None
