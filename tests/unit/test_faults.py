"""Fault rules: validation and route-template matching, without a server."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.faults import check_rule, check_webhook_faults, matches

segment = st.text(st.characters(blacklist_characters="/?#", blacklist_categories=("Cs", "Cc")), min_size=1)


def rule(**values: Any) -> Any:
    base: dict[str, Any] = {
        "method": "*", "path": "/v3/chats", "status": None, "code": None, "message": None, "probability": 1.0,
        "times": None, "latency_ms": None, "retry_after": None,
    }  # fmt: skip
    return check_rule(**{**base, **values})


@given(chat_id=segment)
def test_a_template_matches_any_value_of_its_placeholder(chat_id: str) -> None:
    fault = rule(path="/v3/chats/{chatId}/messages", status=500)
    assert matches(fault, "POST", f"/api/partner/v3/chats/{chat_id}/messages")
    assert matches(fault, "GET", f"/v3/chats/{chat_id}/messages/")
    assert not matches(fault, "POST", f"/api/partner/v3/chats/{chat_id}")
    assert not matches(fault, "POST", f"/api/partner/v3/chats/{chat_id}/messages/extra")


def test_methods_and_literal_characters_are_exact() -> None:
    fault = rule(method="post", path="/v3/chats.json", status=500)
    assert matches(fault, "POST", "/api/partner/v3/chats.json")
    assert not matches(fault, "GET", "/api/partner/v3/chats.json")
    assert not matches(fault, "POST", "/api/partner/v3/chatsXjson")


def test_a_status_gets_linqs_usual_code_and_a_429_says_when_to_retry() -> None:
    limited = rule(status=429)
    assert (limited.code, limited.retry_after) == (1007, 1)
    assert rule(status=500).code == 3006
    assert rule(status=503, code=4004).code == 4004
    assert rule(status=418).code == 1005
    assert rule(latency_ms=250).status is None


@pytest.mark.parametrize(
    "values",
    [
        {"method": "TRACE", "status": 500},
        {"path": "v3/chats", "status": 500},
        {"status": 302},
        {"status": 700},
        {},
        {"code": 1007},
        {"status": 500, "probability": 1.5},
        {"status": 500, "times": 0},
        {"latency_ms": 120_000},
        {"status": 429, "retry_after": -1},
    ],
)
def test_bad_rules_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterValue):
        rule(**values)


@given(
    # Half drawn from the documented ranges, so a validator refusing everything fails too.
    duplicate=st.floats(0, 1) | st.floats(allow_nan=True),
    delay_ms=st.integers(0, 3_600_000) | st.integers(),
)
def test_webhook_faults_in_range_are_kept_and_the_rest_refused(duplicate: float, delay_ms: int) -> None:
    in_range = 0 <= duplicate <= 1 and 0 <= delay_ms <= 3_600_000  # a chance, and at most an hour (NaN: neither)
    event("in range" if in_range else "out of range")
    if not in_range:
        with pytest.raises(InvalidParameterValue):
            check_webhook_faults(duplicate=duplicate, delay_ms=delay_ms, shuffle=False)
        return
    faults = check_webhook_faults(duplicate=duplicate, delay_ms=delay_ms, shuffle=True)
    assert (faults.duplicate, faults.delay_ms, faults.shuffle) == (duplicate, delay_ms, True)


def test_webhook_faults_at_their_bounds_are_accepted() -> None:
    for duplicate, delay_ms in ((0.0, 0), (1.0, 3_600_000), (0.5, 2000)):
        assert check_webhook_faults(duplicate=duplicate, delay_ms=delay_ms, shuffle=False).delay_ms == delay_ms
    for duplicate, delay_ms in ((-0.01, 0), (1.01, 0), (0.0, -1), (0.0, 3_600_001)):
        with pytest.raises(InvalidParameterValue):
            check_webhook_faults(duplicate=duplicate, delay_ms=delay_ms, shuffle=False)
