"""The body guard's rule on JSON text, without a server: storable text passes, anything else is refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.api.body_guard import MAX_JSON_DEPTH, check_json_body, is_json
from linq_server.domain.errors import InvalidParameterValue, InvalidRequestBody

every_character = st.characters(categories=["Cs", "Cc"]) | st.characters()
json_of = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(every_character, max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(every_character, max_size=4), children),
    max_leaves=8,
)


def texts_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *texts_in(item)]]
    if isinstance(value, list):
        return [text for item in value for text in texts_in(item)]
    return []


def storable(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


@given(json_of)
def test_json_passes_exactly_when_all_its_text_is_storable(value: object) -> None:
    body = json.dumps(value).encode()
    if all(storable(text) for text in texts_in(value)):
        check_json_body(body)
    else:
        with pytest.raises(InvalidParameterValue):
            check_json_body(body)


@given(json_of, st.sampled_from(["\x00", "\ud800", "a\udfffb"]), st.booleans())
def test_unstorable_text_as_raw_bytes_is_never_accepted(value: object, bad: str, as_key: bool) -> None:
    hostile = {bad: value} if as_key else [value, bad]
    with pytest.raises((InvalidParameterValue, InvalidRequestBody)):
        check_json_body(json.dumps(hostile, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def test_nesting_is_limited() -> None:
    check_json_body(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    with pytest.raises(InvalidRequestBody):
        check_json_body(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    ("content_type", "checked"),
    [(None, True), ("application/json", True), ("application/json; charset=utf-8", True),
     ("application/merge-patch+json", True), ("text/plain", False), ("multipart/form-data; boundary=x", False)],
)  # fmt: skip
def test_bodies_are_checked_when_fastapi_would_read_them_as_json(content_type: str | None, checked: bool) -> None:
    assert is_json(content_type) is checked
