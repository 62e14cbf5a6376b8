from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from linq_server.domain.attachment_errors import InvalidFileType
from linq_server.domain.errors import InvalidMessageContent, InvalidParameterValue, InvalidPhoneNumber, LinqError
from linq_server.domain.message_errors import (
    AppClipServiceUnsupported,
    IMessageOnlyContent,
    InvalidIMessageApp,
    MentionInDirectChat,
)
from linq_server.domain.message_parts import (
    MAX_PARTS,
    check_content,
    check_effect,
    check_for_chat,
    check_parts,
    check_reply_to,
    has_url,
    utf16_length,
)

TEXT = {"type": "text", "value": "hello"}
MEDIA = {"type": "media", "url": "https://cdn.example.com/cat.jpg"}
APP = {
    "type": "imessage_app",
    "app": {"bundle_id": "com.example.app.ext", "name": "Example", "team_id": "ABCDE12345"},
    "layout": {"caption": "Order ready"},
}

part_kinds = st.sampled_from(["text", "media"])


@given(st.lists(part_kinds, min_size=1, max_size=MAX_PARTS))
def test_text_and_media_mix_is_valid_exactly_when_no_two_texts_touch(kinds: list[str]) -> None:
    parts = [TEXT if kind == "text" else MEDIA for kind in kinds]
    touching = any(a == b == "text" for a, b in itertools.pairwise(kinds))
    if touching:
        with pytest.raises(InvalidMessageContent):
            check_parts(parts)
    else:
        checked, _ = check_parts(parts)
        assert [part["type"] for part in checked] == kinds


@pytest.mark.parametrize(
    "alone",
    [
        {"type": "link", "value": "https://example.com"},
        APP,
        {"type": "app_clip", "value": "https://appclip.example.com/x"},
    ],
)
def test_link_app_and_app_clip_parts_must_be_alone(alone: dict[str, Any]) -> None:
    assert len(check_parts([alone])[0]) == 1
    with pytest.raises(InvalidMessageContent):
        check_parts([alone, MEDIA])


def test_part_count_and_url_media_limits() -> None:
    with pytest.raises(InvalidMessageContent):
        check_parts([])
    with pytest.raises(InvalidMessageContent):
        check_parts([MEDIA] * (MAX_PARTS + 1))
    with pytest.raises(InvalidMessageContent, match="40"):
        check_parts([MEDIA] * 41)
    by_attachment = {"type": "media", "attachment_id": "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10"}
    parts, attachments = check_parts([MEDIA] * 40 + [by_attachment] * 10)
    assert len(parts) == 50 and attachments == [by_attachment["attachment_id"]] * 10


@given(st.text(min_size=1, max_size=50))
def test_text_value_is_kept_verbatim(value: str) -> None:
    (part,), _ = check_parts([{"type": "text", "value": value}])
    assert part["value"] == value and part["mentions"] is None


def test_text_length_limit() -> None:
    check_parts([{"type": "text", "value": "x" * 10_000}])
    with pytest.raises(InvalidMessageContent):
        check_parts([{"type": "text", "value": "x" * 10_001}])
    with pytest.raises(InvalidMessageContent):
        check_parts([{"type": "text", "value": ""}])


@given(st.text(min_size=1, max_size=20), st.data())
def test_decoration_ranges_must_lie_on_character_boundaries(value: str, data: st.DataObject) -> None:
    length = utf16_length(value)
    start = data.draw(st.integers(0, length + 1))
    end = data.draw(st.integers(0, length + 1))
    decoration = {"range": [start, end], "style": "bold"}
    boundaries = {0}
    for char in value:
        boundaries.add(max(boundaries) + (2 if ord(char) > 0xFFFF else 1))
    valid = 0 <= start < end <= length and start in boundaries and end in boundaries
    try:
        (part,), _ = check_parts([{"type": "text", "value": value, "text_decorations": [decoration]}])
    except InvalidMessageContent:
        assert not valid
    else:
        assert valid and part["text_decorations"] == [{"range": [start, end], "style": "bold", "animation": None}]


def test_decoration_rules() -> None:
    def text(decorations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"type": "text", "value": "hello world", "text_decorations": decorations}]

    check_parts(text([{"range": [0, 5], "style": "bold"}, {"range": [2, 8], "style": "italic"}]))
    for bad in (
        [{"range": [0, 5], "style": "bold", "animation": "big"}],
        [{"range": [0, 5]}],
        [{"range": [0, 5], "style": "shouting"}],
        [{"range": [0, 5], "animation": "big"}, {"range": [4, 8], "style": "bold"}],
        [{"range": [0, 5], "animation": "big"}, {"range": [3, 6], "animation": "shake"}],
        [{"range": [5, 5], "style": "bold"}],
        [{"range": [0, 12], "style": "bold"}],
    ):
        with pytest.raises(InvalidMessageContent):
            check_parts(text(bad))
    check_parts(text([{"range": [0, 5], "animation": "big"}, {"range": [5, 8], "style": "bold"}]))


def test_an_emoji_is_two_code_units_and_cannot_be_split() -> None:
    value = "a🥤b"
    assert utf16_length(value) == 4
    check_parts(
        [{"type": "text", "value": value, "inline_stickers": [{"range": [1, 3], "url": "https://l.example/s.png"}]}]
    )
    with pytest.raises(InvalidMessageContent, match="split"):
        check_parts(
            [{"type": "text", "value": value, "inline_stickers": [{"range": [1, 2], "url": "https://l.example/s.png"}]}]
        )


def test_inline_sticker_rules() -> None:
    def text(stickers: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        return [{"type": "text", "value": "x" * 200, "inline_stickers": stickers, **extra}]

    url = "https://files.example/s.png"
    assert check_parts(text([{"range": [0, 1], "attachment_id": "a1"}]))[1] == ["a1"]
    for bad in (
        [{"range": [0, 1]}],
        [{"range": [0, 1], "url": url, "attachment_id": "a1"}],
        [{"range": [0, 2], "url": url}, {"range": [1, 3], "url": url}],
        [{"range": [i, i + 1], "url": f"https://files.example/{i}.png"} for i in range(11)],
        [{"range": [i, i + 1], "url": url} for i in range(101)],
    ):
        with pytest.raises(InvalidMessageContent):
            check_parts(text(bad))
    check_parts(text([{"range": [i, i + 1], "url": url} for i in range(100)]))
    with pytest.raises(InvalidMessageContent, match="overlap"):
        check_parts(text([{"range": [0, 2], "url": url}], text_decorations=[{"range": [1, 4], "style": "bold"}]))
    with pytest.raises(InvalidMessageContent, match="mention"):
        check_parts(text([{"range": [0, 2], "url": url}], mention="+14155550100"))


def test_mentions_are_normalised_and_only_for_groups() -> None:
    content = check_content(
        {"parts": [{"type": "text", "value": "Hey Kevin", "mention": "Kevin@Example.com", "mention_range": [4, 9]}]}
    )
    (part,) = content.parts
    assert part["mentions"] == [{"handle": "kevin@example.com", "is_me": False, "range": [4, 9]}]
    assert part["mention"] == "kevin@example.com" and part["mention_range"] == [4, 9]
    check_for_chat(content, is_group=True, service="SMS")
    with pytest.raises(MentionInDirectChat):
        check_for_chat(content, is_group=False, service="iMessage")
    with pytest.raises(InvalidPhoneNumber):
        check_parts([{"type": "text", "value": "x", "mention": "not a handle"}])
    with pytest.raises(InvalidMessageContent):
        check_parts([{"type": "text", "value": "x", "mention_range": [0, 1]}])


def test_media_parts() -> None:
    (part,), _ = check_parts([{"type": "media", "url": "https://cdn.example.com/a/report.PDF?sig=1"}])
    assert part["filename"] == "report.PDF" and part["mime_type"] == "application/pdf"
    with pytest.raises(InvalidMessageContent):
        check_parts([{"type": "media", "url": "http://cdn.example.com/cat.jpg"}])
    with pytest.raises(InvalidMessageContent):
        check_parts([{"type": "media"}])
    with pytest.raises(InvalidFileType):
        check_parts([{"type": "media", "url": "https://cdn.example.com/tool.exe"}])


def test_imessage_app_rules() -> None:
    (part,), _ = check_parts([APP])
    assert part["app"]["team_id"] == "ABCDE12345" and part["fallback_text"] == "Order ready"
    for app in (
        {"bundle_id": "a:b", "name": "n", "team_id": "ABCDE12345"},
        {"bundle_id": "a.b", "team_id": "ABCDE12345"},
        {"bundle_id": "a.b", "name": "n", "team_id": "abcde12345"},
        {"bundle_id": "a.b", "name": "n", "team_id": "ABCDE1234"},
    ):
        with pytest.raises(InvalidIMessageApp):
            check_parts([{**APP, "app": app}])
    for layout in ({}, {"caption": "c", "image_title": "t"}):
        with pytest.raises(InvalidIMessageApp):
            check_parts([{**APP, "layout": layout}])
    check_parts([{**APP, "url": "data:application/json;base64," + "A" * 16_000}])
    with pytest.raises(InvalidMessageContent):
        check_parts([{**APP, "url": "http://example.com"}])


def test_imessage_only_parts_need_imessage() -> None:
    app = check_content({"parts": [APP]})
    check_for_chat(app, is_group=False, service="iMessage")
    with pytest.raises(IMessageOnlyContent):
        check_for_chat(app, is_group=False, service="SMS")
    with pytest.raises(IMessageOnlyContent):
        check_for_chat(check_content({"parts": [APP], "preferred_service": "RCS"}), is_group=False, service="iMessage")
    clip = check_content(
        {"parts": [{"type": "app_clip", "value": "https://appclip.apple.com/id?p=x"}], "preferred_service": "SMS"}
    )
    with pytest.raises(AppClipServiceUnsupported):
        check_for_chat(clip, is_group=False, service="iMessage")


def test_content_fields() -> None:
    content = check_content(
        {
            "parts": [TEXT],
            "effect": {"name": "confetti"},
            "reply_to": {"message_id": "m1"},
            "preferred_service": "RCS",
            "idempotency_key": "k" * 255,
            "unknown": 1,
        }
    )
    assert content.effect == {"type": "screen", "name": "confetti"}
    assert content.reply_to == {"message_id": "m1", "part_index": 0}
    assert (content.preferred_service, content.idempotency_key) == ("RCS", "k" * 255)
    bad_contents: list[Any] = [
        {"parts": [TEXT], "idempotency_key": "k" * 256},
        {"parts": [TEXT], "preferred_service": "WhatsApp"},
        {"parts": [TEXT], "effect": {"type": "bubble", "name": "confetti"}},
        {"parts": [TEXT], "reply_to": {"part_index": 0}},
        {"parts": [TEXT], "reply_to": {"message_id": "m", "part_index": -1}},
    ]
    for bad in bad_contents:
        with pytest.raises(InvalidParameterValue):
            check_content(bad)
    with pytest.raises(InvalidMessageContent):
        check_content({"parts": [TEXT], "experience": {"name": "x", "action": "y"}})
    with pytest.raises(InvalidMessageContent):
        check_content("hello")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
@example(None)  # accepted where a field may be left out
@example({"type": "screen", "name": "confetti"})
@example({"message_id": "m1", "part_index": True})  # `true` is not part 1
def test_any_json_is_accepted_or_refused_with_a_linq_error(raw: Any) -> None:
    for candidate in (
        raw,
        {"parts": raw},
        {"parts": [raw]},
        {"parts": [{"type": "text", "value": "v", **(raw if isinstance(raw, dict) else {})}]},
        {"parts": [TEXT], "effect": raw},
        {"parts": [TEXT], "effect": {"type": raw, "name": "confetti"}},
        {"parts": [TEXT], "effect": {"type": "screen", "name": raw}},
        {"parts": [TEXT], "reply_to": raw},
        {"parts": [{"type": "text", "value": "hello", "text_decorations": [{"range": [0, 2], "style": raw}]}]},
        {"parts": [{"type": "text", "value": "hello", "text_decorations": [{"range": [0, 2], "animation": raw}]}]},
        {"parts": [TEXT], "reply_to": {"message_id": raw}},
    ):
        try:
            content = check_content(candidate)
        except LinqError as error:
            assert error.status in (400, 404, 409)
            continue
        event("accepted")
        assert_kept_as_sent(candidate, content)


def assert_kept_as_sent(sent: Any, content: Any) -> None:
    """Accepted content is what was sent, of the SDK's types: nothing coerced, nothing made up."""
    assert isinstance(sent, dict) and isinstance(sent["parts"], list)
    assert [part["type"] for part in content.parts] == [part["type"] for part in sent["parts"]]
    for given_part, kept in zip(sent["parts"], content.parts, strict=True):
        if given_part["type"] == "text":
            assert type(kept["value"]) is str and kept["value"] == given_part["value"]
    json.dumps(content.parts, allow_nan=False)  # storable and renderable as it is
    if sent.get("effect") is None:
        assert content.effect is None
    else:
        assert content.effect["type"] in ("screen", "bubble") and content.effect["name"] == sent["effect"]["name"]
        assert sent["effect"].get("type") in (None, content.effect["type"])
    if sent.get("reply_to") is None:
        assert content.reply_to is None
    else:
        part_index = content.reply_to["part_index"]
        assert content.reply_to["message_id"] == sent["reply_to"]["message_id"] and content.reply_to["message_id"]
        assert type(part_index) is int and part_index == sent["reply_to"].get("part_index", 0) >= 0


def test_urls_in_first_messages() -> None:
    assert has_url(check_content({"parts": [{"type": "text", "value": "see www.example.com"}]}))
    assert has_url(check_content({"parts": [{"type": "link", "value": "https://example.com"}]}))
    assert not has_url(check_content({"parts": [TEXT, MEDIA]}))


def test_effect_and_reply_to_absent() -> None:
    assert check_effect(None) is None and check_reply_to(None) is None
