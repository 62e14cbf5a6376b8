"""The delivery job: sign, POST, classify the answer, record the attempt, schedule the retry."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.clock import Clock
from linq_server.jobs.handlers import FINISHED, BatchResult, Outcome
from linq_server.jobs.retry import Backoff
from linq_server.store import webhooks as store
from linq_server.store.database import Database
from linq_server.store.jobs import Job
from linq_server.store.webhooks import Delivery, Subscription
from linq_server.vocabulary import WebhookDeliveryStatus
from linq_server.webhooks.emitter import MAX_DELIVERY_ATTEMPTS
from linq_server.webhooks.errors import WebhookTargetRefused
from linq_server.webhooks.relay_targets import is_own_relay_target
from linq_server.webhooks.sender import DeliveryError, WebhookSender
from linq_server.webhooks.signing import SecretBox, signature_headers
from linq_server.webhooks.targets import check_public_destination

log = logging.getLogger("linq_server.webhooks")

RETRY_WINDOW = timedelta(minutes=30)
CHAT_CREATED = "chat.created"
# 5 s, 10 s, 20 s … capped at 5 min, ±20 %: ten retries take about 25 minutes, inside the 30-minute window.
RETRY_BACKOFF = Backoff(base_seconds=5.0, factor=2.0, cap_seconds=300.0, jitter=0.2)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError, OverflowError):
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
    """Handler of ``webhook.deliver`` jobs: a batch is loaded in one query, sent concurrently, recorded at once."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        secrets: SecretBox,
        sender: WebhookSender,
        *,
        production: bool,
        public_url: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets
        self.sender = sender
        self.production = production
        self.public_url = public_url

    async def __call__(self, jobs: list[Job]) -> BatchResult:
        delivery_ids = {job.id: str(job.payload["delivery_id"]) for job in jobs}
        async with self.db.read() as conn:
            found = await store.deliveries_for(conn, list(delivery_ids.values()))
        pairs = [found[d] for d in delivery_ids.values() if d in found]
        # A chat is announced before anything that happens in it: the batch's chat.created deliveries go out
        # first (a new chat's first message.sent is emitted with it, and would otherwise race it).
        first = [pair for pair in pairs if pair[0].event_type == CHAT_CREATED]
        then = [pair for pair in pairs if pair[0].event_type != CHAT_CREATED]
        results = [
            *await asyncio.gather(*(self._attempt(*pair) for pair in first)),
            *await asyncio.gather(*(self._attempt(*pair) for pair in then)),
        ]
        attempts = {attempt.delivery_id: (attempt, delay) for attempt, delay in results if attempt is not None}
        outcomes = {job_id: _outcome(attempts.get(d)) for job_id, d in delivery_ids.items()}
        cancelled = [
            d
            for d, (delivery, sub) in found.items()
            if delivery.status == WebhookDeliveryStatus.PENDING and not _live(sub)
        ]

        async def write(conn: AsyncConnection) -> None:
            await store.record_attempts(conn, [attempt for attempt, _delay in attempts.values()])
            for delivery_id in cancelled:
                await store.finish_delivery(conn, delivery_id, WebhookDeliveryStatus.CANCELLED, self.clock.now())

        return BatchResult(outcomes, write)

    async def _attempt(
        self, delivery: Delivery, subscription: Subscription | None
    ) -> tuple[store.Attempt | None, float | None]:
        """Make one attempt; returns its record and the delay before the next one (None: no retry)."""
        if delivery.status != WebhookDeliveryStatus.PENDING or not _live(subscription):
            return None, None  # settled already (a re-run after a crash must not send again), or nobody to send to
        assert subscription is not None
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
        refused = False
        began = time.perf_counter()
        try:
            if self.production and not is_own_relay_target(subscription.target_url, self.public_url):
                await check_public_destination(subscription.target_url)
            answer = await self.sender.post(subscription.target_url, delivery.body.encode(), headers)
            status_code, excerpt = answer.status_code, answer.excerpt
            retry_after = retry_after_seconds(answer.retry_after, self.clock.now())
        except WebhookTargetRefused as refusal:
            error, refused = refusal.message, True
        except DeliveryError as failure:
            error = str(failure)
        except Exception as unexpected:
            # One delivery's surprise must not sink the batch (and re-send its neighbours): log it, retry it.
            log.exception("delivery %s to %s raised", delivery.event_id, subscription.target_url)
            error = repr(unexpected)
        duration_ms = (time.perf_counter() - began) * 1000

        delay: float | None = None
        if status_code is not None and 200 <= status_code < 300:
            outcome = WebhookDeliveryStatus.DELIVERED
        elif refused or not is_retryable(status_code):
            outcome = WebhookDeliveryStatus.FAILED
        else:
            delay = next_attempt_delay(
                attempt=attempt, first_attempt_at=delivery.created_at, now=self.clock.now(), retry_after=retry_after
            )
            outcome = WebhookDeliveryStatus.PENDING if delay is not None else WebhookDeliveryStatus.FAILED
        if outcome == WebhookDeliveryStatus.FAILED:
            log.warning(
                "webhook %s to %s failed for good: %s", delivery.event_id, subscription.id, error or status_code
            )
        record = store.Attempt(
            delivery_id=delivery.id, attempt=attempt, started_at=started_at, duration_ms=duration_ms,
            status_code=status_code, error=error, response_excerpt=excerpt, outcome=outcome,
            finished_at=None if outcome == WebhookDeliveryStatus.PENDING else self.clock.now(),
            request_headers=headers,
        )  # fmt: skip
        return record, delay


def _outcome(made: tuple[store.Attempt, float | None] | None) -> Outcome:
    if made is None or made[1] is None:
        return FINISHED  # delivered, failed for good, or nothing to do: the job is finished either way
    attempt, delay = made
    return Outcome(delay, attempt.error or f"HTTP {attempt.status_code}")


def _live(subscription: Subscription | None) -> bool:
    return subscription is not None and subscription.is_active
