"""The ``replies`` validator and matcher, without a server."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.domain.device_replies import MAX_REPLIES, Reply, answer_to, check_replies
from linq_server.domain.errors import InvalidParameterValue

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
rule = st.fixed_dictionaries(
    {"match": st.text(max_size=40), "reply": st.text(max_size=20), "after_ms": st.integers(-5, 90_000_000)}
)


@given(raw=anything | st.lists(rule | anything, max_size=MAX_REPLIES + 2))
def test_any_input_is_accepted_whole_or_refused_with_1005(raw: object) -> None:
    try:
        checked = check_replies(raw)
    except InvalidParameterValue as refused:
        assert refused.code == 1005 and refused.message
        return
    assert isinstance(raw, list) and len(checked) == len(raw) <= MAX_REPLIES
    for given_rule, kept in zip(raw, checked, strict=True):
        re.compile(kept.match)  # every kept pattern compiles
        assert kept.as_json() == {"after_ms": 0, **given_rule}


@given(rules=st.lists(rule, max_size=MAX_REPLIES))
def test_valid_rules_round_trip(rules: list[dict[str, object]]) -> None:
    try:
        checked = check_replies(rules)
    except InvalidParameterValue:
        return  # a pattern that does not compile, an empty reply or a delay out of range
    assert [r.as_json() for r in checked] == rules
    assert check_replies([r.as_json() for r in checked]) == checked


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([{"type": "text", "value": "Lunch at noon?"}], "lunch"),
        ([{"type": "text", "value": "no food talk"}], "anything"),
        ([{"type": "media", "url": "https://example.com/a.png"}], "anything"),
        ([{"type": "media", "url": "x"}, {"type": "text", "value": "LUNCH"}], "lunch"),
    ],
)
def test_the_first_matching_rule_answers(parts: list[dict[str, str]], expected: str) -> None:
    rules = (Reply("(?i)lunch", "lunch", 0), Reply("", "anything", 0))
    answer = answer_to(rules, parts)
    assert answer is not None and answer.reply == expected
    assert answer_to((Reply("^x$", "x", 0),), parts) is None
