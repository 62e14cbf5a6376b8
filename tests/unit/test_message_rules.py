"""Lifecycle table, rate limit, opt-out keywords, edit and reaction rules: pure functions, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from linq_server.domain.errors import (
    InvalidParameterValue,
    MissingRequiredField,
    ParticipantServiceMismatch,
    RateLimited,
    StateConflict,
)
from linq_server.domain.message_edits import check_edit, check_edit_request
from linq_server.domain.message_errors import RecipientOptedOut
from linq_server.domain.message_lifecycle import Report, transition
from linq_server.domain.opt_out import OptOutChange, check_not_opted_out, is_opt_out_keyword, opt_out_change
from linq_server.domain.rate_limits import admit
from linq_server.domain.reaction_rules import check_placement, check_reaction, check_reaction_request

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ["pending", "queued", "sent", "delivered", "read", "failed", "received"]


def test_outbound_happy_path_per_service() -> None:
    for service in ("iMessage", "RCS"):
        status, events = "queued", []
        for report in (Report.SENT, Report.DELIVERED, Report.READ):
            move = transition(status, report, service)
            assert move is not None
            status = move.status
            events.append(move.event_type)
        assert events == ["message.sent", "message.delivered", "message.read"]
    assert transition("delivered", Report.READ, "SMS") is None
    assert transition("sent", Report.DELIVERED, "SMS") is not None


@given(
    st.sampled_from(STATUSES),
    st.lists(st.sampled_from(list(Report)), max_size=8),
    st.sampled_from(["iMessage", "RCS", "SMS"]),
)
def test_reports_never_move_a_message_backwards_or_emit_twice(start: str, reports: list[Report], service: str) -> None:
    rank = {"pending": 0, "queued": 0, "sent": 1, "failed": 1, "delivered": 2, "read": 3, "received": 0}
    status, emitted = start, []
    for report in reports:
        move = transition(status, report, service)
        if move is None:
            continue
        assert rank[move.status] >= rank[status]
        emitted.append(move.event_type)
        status = move.status
    assert len([e for e in emitted if e != "message.failed"]) == len(set(e for e in emitted if e != "message.failed"))
    if service == "SMS":
        assert "message.read" not in emitted
    if start == "received":
        assert emitted == []  # inbound messages have no outbound lifecycle


@given(st.lists(st.integers(0, 120_000), max_size=80), st.integers(0, 120_000))
@example(list(range(0, 30_000, 1000)), 30_000)  # the 31st within a minute: refused
@example(list(range(0, 29_000, 1000)), 30_000)  # the 30th: admitted
def test_rate_limit_admits_exactly_thirty_per_rolling_minute(offsets_ms: list[int], now_ms: int) -> None:
    now = T0 + timedelta(milliseconds=now_ms)
    recent = [T0 + timedelta(milliseconds=ms) for ms in offsets_ms if ms <= now_ms]
    in_window = sorted(t for t in recent if now - t < timedelta(seconds=60))
    # Linq's documented limit (api-core §17): 30 messages per sender-recipient pair per rolling 60 s.
    if len(in_window) < 30:
        kept = admit(recent, now)
        assert kept == [*in_window, now]
    else:
        with pytest.raises(RateLimited) as refused:
            admit(recent, now)
        retry = refused.value.retry_after
        assert retry >= 1
        # After waiting retry_after seconds there is room again, and not a whole second earlier.
        later = now + timedelta(seconds=retry)
        admit(in_window, later)
        if retry > 1:
            with pytest.raises(RateLimited):
                admit(in_window, later - timedelta(seconds=1))


def test_rate_limit_message_and_header_value() -> None:
    sends = [T0 + timedelta(seconds=i) for i in range(30)]
    with pytest.raises(RateLimited) as refused:
        admit(sends, T0 + timedelta(seconds=30))
    assert refused.value.retry_after == 30 and "30 seconds" in refused.value.message
    assert len(admit(sends, T0 + timedelta(seconds=60))) == 30


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "UNSUBSCRIBE",
        "OPTOUT",
        "CANCEL",
        "END",
        "QUIT",
        " STOP ",
        "opt out",
        "Opt-Out",
        "OPTOUT",
        "optout",
        "OPT OUT",
    ],
)
def test_opt_out_keywords(text: str) -> None:
    assert is_opt_out_keyword(text)
    assert opt_out_change(text, is_group=False) == OptOutChange.OPT_OUT
    assert opt_out_change(text, is_group=True) is None


@pytest.mark.parametrize("text", ["stop", "Stop", "STOP please", "please STOP", "END.", "opt  out", "quit"])
def test_not_keywords_opt_back_in(text: str) -> None:
    assert not is_opt_out_keyword(text)
    assert opt_out_change(text, is_group=False) == OptOutChange.OPT_IN
    assert opt_out_change(None, is_group=True) == OptOutChange.OPT_IN


def test_opt_out_gate() -> None:
    with pytest.raises(RecipientOptedOut):
        check_not_opted_out(opted_out=True, is_group=False, override_optout=False)
    check_not_opted_out(opted_out=True, is_group=False, override_optout=True)
    check_not_opted_out(opted_out=True, is_group=True, override_optout=False)


def _edit(**overrides: object) -> None:
    facts: dict[str, object] = dict(
        is_from_me=True,
        service="iMessage",
        parts=[{"type": "text", "value": "a"}],
        part_index=0,
        edits_so_far=0,
        sent_at=T0,
        now=T0 + timedelta(minutes=1),
    )
    facts.update(overrides)
    check_edit(**facts)  # type: ignore[arg-type]


def test_edit_rules() -> None:
    _edit()
    _edit(edits_so_far=4, now=T0 + timedelta(minutes=15))
    with pytest.raises(StateConflict):
        _edit(is_from_me=False)
    with pytest.raises(ParticipantServiceMismatch):
        _edit(service="RCS")
    with pytest.raises(InvalidParameterValue):
        _edit(part_index=1)
    with pytest.raises(InvalidParameterValue):
        _edit(parts=[{"type": "media"}])
    with pytest.raises(StateConflict, match="5 times"):
        _edit(edits_so_far=5)
    with pytest.raises(StateConflict, match="15 minutes"):
        _edit(now=T0 + timedelta(minutes=15, milliseconds=1))
    assert check_edit_request("new", 0) == ("new", 0) and check_edit_request("x" * 10_000, 2) == ("x" * 10_000, 2)
    # part_index is not nullable in the SDK: null is refused, as on the reactions route, never part 0.
    for text, index in (("", 0), ("x" * 10_001, 0), ("x", -1), ("x", True), ("x", None), ("x", 1.0), ("x", "0")):
        with pytest.raises(InvalidParameterValue):
            check_edit_request(text, index)


def test_reaction_rules() -> None:
    love = check_reaction_request({"operation": "add", "type": "love"})
    check_reaction(love, service="RCS", part_count=1)
    with pytest.raises(ParticipantServiceMismatch):
        check_reaction(love, service="SMS", part_count=1)
    with pytest.raises(InvalidParameterValue):
        check_reaction(
            check_reaction_request({"operation": "add", "type": "like", "part_index": 2}),
            service="iMessage",
            part_count=2,
        )
    sticker = check_reaction_request({"operation": "add", "type": "sticker", "emoji": "🎉", "placement": {"scale": 9}})
    assert sticker.sticker == {"emoji": "🎉", "placement": {"x": 0.0, "y": 0.0, "scale": 2.5, "rotation": 0.0}}
    with pytest.raises(ParticipantServiceMismatch):
        check_reaction(sticker, service="RCS", part_count=1)
    for bad in (
        {"operation": "add", "type": "custom"},
        {"operation": "add", "type": "love", "custom_emoji": "x"},
        {"operation": "remove", "type": "sticker", "emoji": "🎉"},
        {"operation": "add", "type": "sticker"},
        {"operation": "add", "type": "sticker", "emoji": "🎉", "url": "https://x"},
        {"operation": "add", "type": "love", "emoji": "🎉"},
        {"operation": "toggle", "type": "love"},
        {"operation": "add", "type": "wave"},
    ):
        with pytest.raises(InvalidParameterValue):
            check_reaction_request(bad)


def test_placement_keeps_unsent_fields() -> None:
    placed = check_placement({"x": 0.5}, source="image", current={"x": 0.0, "y": 0.2, "scale": 1.2, "rotation": 45})
    assert placed == {"x": 0.5, "y": 0.2, "scale": 1.2, "rotation": 45}
    with pytest.raises(InvalidParameterValue):
        check_placement({"y": 1.5}, source="emoji")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


# Values some field takes, so the accepted branch below runs too (arbitrary JSON is nearly always refused).
FITTING = st.sampled_from([None, 0, 2, "add", "remove", "laugh", "🎉", "https://example.com/s", {"x": 0.5, "scale": 9}])
FIELDS = st.sampled_from(["operation", "type", "part_index", "custom_emoji", "emoji", "url", "placement"])


@given(JSON | FITTING, FIELDS)
@example(True, "part_index")  # `true` is not part 1
def test_any_json_in_a_reaction_request_is_accepted_or_refused_with_400(raw: object, field: str) -> None:
    body: dict[str, object] = {"operation": "add", "type": "love", field: raw}
    if field in ("url", "placement"):  # a sticker's: placement goes with an emoji sticker
        body = {"operation": "add", "type": "sticker", **({"emoji": "🎉"} if field == "placement" else {}), field: raw}
    try:
        request = check_reaction_request(body)
    except (InvalidParameterValue, MissingRequiredField) as error:
        event("refused")
        assert error.status == 400
        return
    event(f"accepted {field}")
    # Accepted: what was sent is kept as sent and of the SDK's type, never coerced or defaulted over.
    assert (request.operation, request.type) == (body["operation"], body["type"])
    assert type(request.part_index) is int and request.part_index == body.get("part_index", 0) >= 0
    assert request.custom_emoji == body.get("custom_emoji")
    assert (request.custom_emoji is None) == (body["type"] != "custom")
    if body["type"] == "sticker":
        assert request.sticker is not None
        (source,) = request.sticker.keys() - {"placement"}
        assert isinstance(body[source], str) and request.sticker[source] == body[source]
        placement = request.sticker["placement"]
        assert -1 <= placement["x"] <= 1 and -1 <= placement["y"] <= 1 and 0.05 <= placement["scale"] <= 2.5
    else:
        assert request.sticker is None
