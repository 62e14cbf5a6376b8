"""The pure rules of the relay and the logs service."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.cli import linq_cli_environment
from linq_server.domain.errors import InvalidParameterValue
from linq_server.domain.relay import RelayConnectionUnavailable, check_relay_partner, is_init_frame
from linq_server.domain.webhook_logs import MAX_PER_PAGE, check_log_query
from linq_server.webhooks.relay_targets import is_own_relay_target, relay_target

PUBLIC = "http://127.0.0.1:8787"


def test_only_the_servers_own_relay_urls_are_its_relay_targets() -> None:
    assert is_own_relay_target(relay_target(PUBLIC, "Ab3_-x"), PUBLIC)
    assert is_own_relay_target("http://127.0.0.1:8787/relay/abc", PUBLIC + "/")
    for other in (
        "http://127.0.0.1:8788/relay/abc",  # another port
        "http://127.0.0.1:8787/relay/",  # no connection
        "http://127.0.0.1:8787/relay/abc/more",
        "http://127.0.0.1:8787/relay/abc?x=1",
        "http://127.0.0.1:8787/hook",
        "http://127.0.0.1:8787@evil.test/relay/abc",
    ):
        assert not is_own_relay_target(other, PUBLIC), other
    assert not is_own_relay_target("http://127.0.0.1:8787/relay/abc", None)


@given(st.text())
def test_relay_target_rule_never_accepts_a_url_outside_the_relay_path(suffix: str) -> None:
    url = "http://127.0.0.1:8787/" + suffix
    if is_own_relay_target(url, PUBLIC):
        assert url.startswith(PUBLIC + "/relay/") and "/" not in suffix.removeprefix("relay/")


def test_init_frames() -> None:
    assert is_init_frame('{"action":"init"}')
    for frame in (None, "", "init", '{"action":"ping"}', "[1]", '{"connectionId":"x"}'):
        assert not is_init_frame(frame)


def test_a_connection_takes_only_its_own_partners_deliveries() -> None:
    check_relay_partner("partner-a", "partner-a")
    with pytest.raises(RelayConnectionUnavailable) as refused:
        check_relay_partner("partner-a", "partner-b")
    assert (refused.value.status, refused.value.code) == (503, 4004)


def test_log_queries() -> None:
    query = check_log_query(subscription_id="s", event_type="", status="all", cursor=None, per_page=None)
    assert (query.subscription_id, query.event_type, query.status, query.per_page) == ("s", None, None, 20)
    assert check_log_query(subscription_id=None, event_type=None, status="failed", cursor=None, per_page=5).status
    for bad in ({"status": "done"}, {"per_page": 0}, {"per_page": MAX_PER_PAGE + 1}, {"cursor": "not a cursor"}):
        arguments = {"subscription_id": None, "event_type": None, "status": None, "cursor": None, "per_page": 10}
        with pytest.raises(InvalidParameterValue):
            check_log_query(**{**arguments, **bad})  # type: ignore[arg-type]


def test_the_cli_environment_points_at_this_server() -> None:
    assert linq_cli_environment("https://linq.example").splitlines() == [
        "LINQ_API_URL=https://linq.example/api/partner",
        "LINQ_RELAY_WS_URL=wss://linq.example/relay-ws",
        "LINQ_RELAY_URL=https://linq.example",
        "LINQ_LOGS_URL=https://linq.example/api",
    ]
