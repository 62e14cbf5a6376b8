"""The ``replies`` validator and matcher, without a server."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.domain.device_replies import Reply, answer_to, check_replies
from linq_server.domain.errors import InvalidParameterValue

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
rule = st.fixed_dictionaries(
    {"match": st.text(max_size=40), "reply": st.text(max_size=20), "after_ms": st.integers(-5, 90_000_000)}
)


@given(raw=anything | st.lists(rule | anything, max_size=22))
def test_any_input_is_accepted_whole_or_refused_with_1005(raw: object) -> None:
    try:
        checked = check_replies(raw)
    except InvalidParameterValue as refused:
        assert refused.code == 1005 and refused.message
        return
    assert isinstance(raw, list) and len(checked) == len(raw) <= 20
    for given_rule, kept in zip(raw, checked, strict=True):
        re.compile(kept.match)  # every kept pattern compiles
        assert kept.as_json() == {"after_ms": 0, **given_rule}


# Valid by construction (an escaped literal always compiles, a reply has a visible character, a delay
# of at most a day), so every list must be accepted: a validator refusing everything fails here.
valid_rule = st.fixed_dictionaries(
    {
        "match": st.text(max_size=40).map(re.escape) | st.sampled_from(["", "(?i)lunch", "^hi$", r"\d+"]),
        "reply": st.text(max_size=20).map(lambda text: f"{text}!"),
        "after_ms": st.integers(0, 86_400_000),
    }
)


@given(rules=st.lists(valid_rule, max_size=20))  # at most 20 rules
def test_valid_rules_round_trip(rules: list[dict[str, object]]) -> None:
    checked = check_replies(rules)
    assert [r.as_json() for r in checked] == rules
    assert check_replies([r.as_json() for r in checked]) == checked


@given(rules=st.lists(valid_rule, min_size=1, max_size=20), which=st.integers(0, 19), field=st.sampled_from(
    [("match", "(unclosed"), ("match", "a" * 501), ("reply", " "), ("reply", ""), ("after_ms", -1),
     ("after_ms", 86_400_001), ("after_ms", True), ("after_ms", 1.5), ("extra", 1)]
))  # fmt: skip
def test_one_bad_rule_refuses_the_whole_list_naming_it(
    rules: list[dict[str, object]], which: int, field: tuple[str, object]
) -> None:
    index = which % len(rules)
    rules[index] = {**rules[index], field[0]: field[1]}
    with pytest.raises(InvalidParameterValue) as refused:
        check_replies(rules)
    assert f"replies[{index}]" in refused.value.message


def test_twenty_rules_are_accepted_and_twenty_one_refused() -> None:
    assert len(check_replies([{"match": "x", "reply": "y"}] * 20)) == 20
    with pytest.raises(InvalidParameterValue):
        check_replies([{"match": "x", "reply": "y"}] * 21)


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
