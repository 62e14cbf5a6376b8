"""The logs service of ``linq webhooks logs``: a partner's delivery attempts, filtered and paged."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from linq_server.domain.errors import InvalidParameterValue
from linq_server.store import webhook_logs as store
from linq_server.store.database import Database
from linq_server.store.webhook_logs import LoggedAttempt

STATUSES = (store.SUCCESS, store.FAILED, store.RETRYING)
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class LogQuery:
    subscription_id: str | None
    event_type: str | None
    status: str | None
    after: tuple[datetime, str] | None
    per_page: int


def encode_cursor(attempt: LoggedAttempt) -> str:
    return base64.urlsafe_b64encode(f"{attempt.started_at.isoformat()}|{attempt.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        started_at, attempt_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(started_at), attempt_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterValue("cursor is not one this server issued") from error


def check_log_query(
    *, subscription_id: str | None, event_type: str | None, status: str | None, cursor: str | None, per_page: int | None
) -> LogQuery:
    """A valid query, or 400/1005. ``status`` ``all`` (or none) means every status; empty filters are none."""
    if status in (None, "", "all"):
        status = None
    elif status not in STATUSES:
        raise InvalidParameterValue(f"status must be one of {', '.join(STATUSES)} or all")
    size = DEFAULT_PER_PAGE if per_page is None else per_page
    if not 1 <= size <= MAX_PER_PAGE:
        raise InvalidParameterValue(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return LogQuery(
        subscription_id=subscription_id or None,
        event_type=event_type or None,
        status=status,
        after=decode_cursor(cursor) if cursor else None,
        per_page=size,
    )


def error_type_of(attempt: LoggedAttempt) -> str | None:
    """Why an attempt did not succeed: no HTTP answer at all, or an answer that was not a 2xx."""
    if attempt.status == store.SUCCESS:
        return None
    return "http_error" if attempt.status_code is not None else "connection_error"


def error_message_of(attempt: LoggedAttempt) -> str | None:
    if attempt.status == store.SUCCESS:
        return None
    if attempt.error:
        return attempt.error
    excerpt = (attempt.response_excerpt or "").strip()
    return f"HTTP {attempt.status_code}: {excerpt}" if excerpt else f"HTTP {attempt.status_code}"


async def webhook_logs(db: Database, partner_id: str, query: LogQuery) -> tuple[list[LoggedAttempt], str | None]:
    """A page of the partner's attempts, newest first, and the cursor of the next page (None on the last).

    Scoped by partner: another partner's subscription id simply matches nothing.
    """
    async with db.read() as conn:
        page = await store.page_of_attempts(
            conn, partner_id, subscription_id=query.subscription_id, event_type=query.event_type,
            status=query.status, after=query.after, limit=query.per_page + 1,
        )  # fmt: skip
    more = len(page) > query.per_page
    page = page[: query.per_page]
    return page, encode_cursor(page[-1]) if more else None
