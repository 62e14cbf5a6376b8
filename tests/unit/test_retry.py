from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from linq_server.jobs.retry import Backoff
from linq_server.webhooks.dispatcher import (
    RETRY_BACKOFF,
    RETRY_WINDOW,
    is_retryable,
    next_attempt_delay,
    retry_after_seconds,
)
from linq_server.webhooks.emitter import MAX_DELIVERY_ATTEMPTS

START = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_jitter_of_the_capped_exponential(attempt: int, seed: int) -> None:
    policy = Backoff(base_seconds=5, factor=2, cap_seconds=300, jitter=0.2)
    nominal = min(300, 5 * 2 ** (attempt - 1))
    assert nominal * 0.8 <= policy.delay(attempt, random.Random(seed)) <= nominal * 1.2


@given(st.integers(min_value=0, max_value=2**32))
def test_a_failing_delivery_makes_at_most_ten_retries_all_within_thirty_minutes(seed: int) -> None:
    random.seed(seed)
    now, attempt, starts = START, 1, [START]
    while (delay := next_attempt_delay(attempt=attempt, first_attempt_at=START, now=now, retry_after=None)) is not None:
        now += timedelta(seconds=delay)
        attempt += 1
        starts.append(now)
    assert len(starts) <= MAX_DELIVERY_ATTEMPTS
    assert starts[-1] - START <= RETRY_WINDOW
    assert all(later >= earlier for earlier, later in itertools.pairwise(starts))


@given(st.floats(min_value=0, max_value=3600, allow_nan=False))
def test_retry_after_is_used_as_is_inside_the_window_and_ends_retries_past_it(seconds: float) -> None:
    delay = next_attempt_delay(attempt=1, first_attempt_at=START, now=START, retry_after=seconds)
    assert delay == (seconds if seconds <= RETRY_WINDOW.total_seconds() else None)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("2", START) == 2
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", START) == 30
    assert retry_after_seconds("soon", START) is None
    assert retry_after_seconds(None, START) is None


@given(st.integers(min_value=100, max_value=599))
def test_only_429_and_5xx_are_retryable(status: int) -> None:
    assert is_retryable(status) == (status == 429 or status >= 500)
    assert is_retryable(None)


def test_the_schedule_starts_at_five_seconds() -> None:
    assert 4 <= RETRY_BACKOFF.delay(1) <= 6


def test_unreadable_retry_after_values_are_ignored() -> None:
    assert retry_after_seconds("²", START) is None  # a digit to str.isdigit, not to float()
    assert retry_after_seconds("Fri, 01 Jan 99999 00:00:00 GMT", START) is None
