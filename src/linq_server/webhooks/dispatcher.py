"""The delivery job: sign, POST, classify the answer, record the attempt, schedule the retry."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from linq_server.clock import Clock
from linq_server.domain.errors import InvalidParameterValue
from linq_server.jobs.retry import Backoff, RetryLater
from linq_server.store import webhooks as store
from linq_server.store.database import Database
from linq_server.store.jobs import Job
from linq_server.webhooks.emitter import MAX_DELIVERY_ATTEMPTS
from linq_server.webhooks.signing import SecretBox, signature_headers
from linq_server.webhooks.targets import check_public_destination

log = logging.getLogger("linq_server.webhooks")

TIMEOUT_SECONDS = 15.0
RETRY_WINDOW = timedelta(minutes=30)
# 5 s, 10 s, 20 s … capped at 5 min, ±20 %: ten retries take about 25 minutes, inside the 30-minute window.
RETRY_BACKOFF = Backoff(base_seconds=5.0, factor=2.0, cap_seconds=300.0, jitter=0.2)
EXCERPT_CHARS = 500


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,  # a redirect is not a delivery
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def is_retryable(status_code: int | None) -> bool:
    """Network failures, timeouts, 429 and 5xx are retried; any other answer is final."""
    return status_code is None or status_code == 429 or status_code >= 500


def next_attempt_delay(
    *, attempt: int, first_attempt_at: datetime, now: datetime, retry_after: float | None
) -> float | None:
    """Seconds until the next attempt, or None when the retry budget (attempts or window) is spent."""
    if attempt >= MAX_DELIVERY_ATTEMPTS:
        return None
    remaining = (first_attempt_at + RETRY_WINDOW - now).total_seconds()
    if remaining <= 0:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= remaining else None
    return min(RETRY_BACKOFF.delay(attempt), remaining)


class Dispatcher:
    """Handler of ``webhook.deliver`` jobs."""

    def __init__(
        self, db: Database, clock: Clock, secrets: SecretBox, http: httpx.AsyncClient, *, production: bool
    ) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets
        self.http = http
        self.production = production

    async def __call__(self, job: Job) -> None:
        delivery_id = str(job.payload["delivery_id"])
        async with self.db.read() as conn:
            delivery = await store.delivery_by_id(conn, delivery_id)
            subscription = await store.subscription_by_id(conn, delivery.subscription_id) if delivery else None
        if delivery is None or delivery.status != store.PENDING:
            return  # already settled: a re-run after a crash must not send again
        if subscription is None or not subscription.is_active:
            async with self.db.write() as conn:
                await store.finish_delivery(conn, delivery.id, store.CANCELLED, self.clock.now())
            return

        attempt = delivery.attempts + 1
        started_at = self.clock.now()
        headers = signature_headers(
            secret=self.secrets.open(subscription.secret_ciphertext), event_id=delivery.event_id,
            event_type=delivery.event_type, subscription_id=subscription.id, sent_at=started_at, body=delivery.body,
        )  # fmt: skip
        status_code: int | None = None
        error: str | None = None
        excerpt: str | None = None
        retry_after: float | None = None
        final = False
        began = time.perf_counter()
        try:
            if self.production:
                await check_public_destination(subscription.target_url)
            response = await self.http.post(subscription.target_url, content=delivery.body.encode(), headers=headers)
            status_code, excerpt = response.status_code, response.text[:EXCERPT_CHARS]
            retry_after = retry_after_seconds(response.headers.get("retry-after"), self.clock.now())
        except InvalidParameterValue as refused:
            error, final = refused.message, True
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        duration_ms = (time.perf_counter() - began) * 1000

        delay: float | None = None
        if status_code is not None and 200 <= status_code < 300:
            outcome = store.DELIVERED
        elif final or not is_retryable(status_code):
            outcome = store.FAILED
        else:
            delay = next_attempt_delay(
                attempt=attempt, first_attempt_at=delivery.created_at, now=self.clock.now(), retry_after=retry_after
            )
            outcome = store.PENDING if delay is not None else store.FAILED
        async with self.db.write() as conn:
            await store.record_attempt(
                conn, attempt_id=str(uuid.uuid4()), delivery_id=delivery.id, attempt=attempt, started_at=started_at,
                duration_ms=duration_ms, status_code=status_code, error=error, response_excerpt=excerpt,
                outcome=outcome, finished_at=None if outcome == store.PENDING else self.clock.now(),
            )  # fmt: skip
        if outcome == store.FAILED:
            log.warning(
                "webhook %s to %s failed for good: %s", delivery.event_id, subscription.id, error or status_code
            )
        if delay is not None:
            raise RetryLater(delay, error or f"HTTP {status_code}")
