from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from linq_server.jobs.retry import Backoff
from linq_server.webhooks.dispatcher import (
    is_retryable,
    next_attempt_delay,
    retry_after_seconds,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_jitter_of_the_capped_exponential(attempt: int, seed: int) -> None:
    policy = Backoff(base_seconds=5, factor=2, cap_seconds=300, jitter=0.2)
    nominal = min(300, 5 * 2 ** (attempt - 1))
    assert nominal * 0.8 <= policy.delay(attempt, random.Random(seed)) <= nominal * 1.2


@given(st.integers(min_value=0, max_value=2**32))
def test_a_failing_delivery_makes_ten_retries_all_within_thirty_minutes(seed: int) -> None:
    # The README's literals, not the server's constants: 5 s doubling, capped at 5 minutes, ± 20 %,
    # at most 10 retries, all within 30 minutes.
    random.seed(seed)
    now, attempt, starts = START, 1, [START]
    while (delay := next_attempt_delay(attempt=attempt, first_attempt_at=START, now=now, retry_after=None)) is not None:
        now += timedelta(seconds=delay)
        attempt += 1
        starts.append(now)
    assert len(starts) == 11  # the first attempt and ten retries: 5+10+…+300+300 s fits well inside 30 minutes
    assert starts[-1] - START <= timedelta(minutes=30)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
    nominal = [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]
    assert all(n * 0.8 <= gap <= n * 1.2 for gap, n in zip(gaps, nominal, strict=True))


@given(st.floats(min_value=0, max_value=3600, allow_nan=False))
def test_retry_after_is_used_as_is_inside_the_window_and_ends_retries_past_it(seconds: float) -> None:
    delay = next_attempt_delay(attempt=1, first_attempt_at=START, now=START, retry_after=seconds)
    assert delay == (seconds if seconds <= 30 * 60 else None)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("2", START) == 2
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", START) == 30
    assert retry_after_seconds("soon", START) is None
    assert retry_after_seconds(None, START) is None


@given(st.integers(min_value=100, max_value=599))
def test_only_429_and_5xx_are_retryable(status: int) -> None:
    assert is_retryable(status) == (status == 429 or status >= 500)
    assert is_retryable(None)


def test_the_schedule_starts_at_five_seconds_and_is_capped_at_five_minutes() -> None:
    delays = [next_attempt_delay(attempt=n, first_attempt_at=START, now=START, retry_after=None) for n in (1, 9)]
    assert delays[0] is not None and 4 <= delays[0] <= 6
    assert delays[1] is not None and 240 <= delays[1] <= 360


def test_no_retry_after_the_tenth() -> None:
    assert next_attempt_delay(attempt=10, first_attempt_at=START, now=START, retry_after=None) is not None
    assert next_attempt_delay(attempt=11, first_attempt_at=START, now=START, retry_after=None) is None


def test_unreadable_retry_after_values_are_ignored() -> None:
    assert retry_after_seconds("²", START) is None  # a digit to str.isdigit, not to float()
    assert retry_after_seconds("Fri, 01 Jan 99999 00:00:00 GMT", START) is None
