"""The rules for media sent by URL and for voice memos (api-core §8.8, §15.4, §15.5): pure, no server."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.domain.attachment_errors import FileTooLarge, InvalidFileType, VoiceMemoTooLarge
from linq_server.domain.attachment_rules import SUPPORTED_CONTENT_TYPES
from linq_server.domain.media_rules import (
    MAX_URL_MEDIA_BYTES,
    MAX_VOICE_MEMO_BYTES,
    SENDABLE_TYPES,
    UNINFORMATIVE_TYPES,
    VOICE_MEMO_TYPES,
    check_url_media_size,
    check_voice_memo_size,
    check_voice_memo_type,
    fetched_type,
    url_file,
)
from linq_server.domain.media_types import MEDIA_TYPES

# §15.4's list of extensions a media part may be sent by URL with, exactly.
SPEC_EXTENSIONS = {
    "jpg", "jpeg", "png", "gif", "heic", "heif", "tif", "tiff", "bmp", "mp4", "mov", "m4v", "mpeg", "mpg", "3gp",
    "m4a", "mp3", "aac", "caf", "wav", "aiff", "amr", "pdf", "txt", "rtf", "csv", "doc", "docx", "xls", "xlsx",
    "ppt", "pptx", "pages", "numbers", "key", "epub", "zip", "html", "htm", "vcf", "ics",
}  # fmt: skip
# §8.8's voice memo formats.
SPEC_VOICE_TYPES = {"audio/mpeg", "audio/x-m4a", "audio/mp4", "audio/aac", "audio/x-caf", "audio/wav", "audio/aiff",
                    "audio/x-aiff", "audio/amr"}  # fmt: skip

stems = st.text(st.characters(categories=["L", "N"]) | st.sampled_from("-_ ."), min_size=1, max_size=20).filter(
    lambda s: s.strip(".") == s
)
known_extensions = st.sampled_from(sorted(MEDIA_TYPES))
unknown_extensions = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6).filter(
    lambda e: e not in MEDIA_TYPES
)
queries = st.sampled_from(["", "?sig=abc.exe", "?a=1&b=x.flac", "#frag.ogg"])
casing = st.sampled_from([str.lower, str.upper, str.title])


def test_the_extensions_are_exactly_the_specs() -> None:
    assert set(MEDIA_TYPES) == SPEC_EXTENSIONS
    assert SPEC_VOICE_TYPES <= VOICE_MEMO_TYPES <= SUPPORTED_CONTENT_TYPES | SPEC_VOICE_TYPES


@given(stems, known_extensions, casing, queries)
def test_a_known_extension_names_its_type_whatever_the_case_and_query(
    stem: str, extension: str, case: object, query: str
) -> None:
    filename = f"{stem}.{case(extension)}"  # type: ignore[operator]
    url = f"https://cdn.example.com/a/{quote(filename)}{query}"
    assert url_file(url) == (filename, MEDIA_TYPES[extension])


@given(stems, unknown_extensions, queries)
def test_an_unknown_extension_is_5004_before_anything_is_read(stem: str, extension: str, query: str) -> None:
    with pytest.raises(InvalidFileType) as error:
        url_file(f"https://cdn.example.com/{quote(stem)}.{extension}{query}")
    assert (error.value.status, error.value.code) == (400, 5004)


@given(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", max_size=12), queries)
def test_no_extension_leaves_the_type_to_the_server(stem: str, query: str) -> None:
    filename, by_extension = url_file(f"https://cdn.example.com/{stem}{query}")
    assert by_extension is None and filename == (stem or "attachment")


@given(st.sampled_from(sorted(SENDABLE_TYPES)), st.sampled_from(["", "; charset=utf-8", ";q=1"]), casing,
       st.none() | st.sampled_from(sorted(set(MEDIA_TYPES.values()))))  # fmt: skip
def test_a_sendable_declared_type_wins(declared: str, parameters: str, case: object, by_extension: str | None) -> None:
    assert fetched_type(case(declared) + parameters, by_extension) == declared  # type: ignore[operator]


@given(st.none() | st.sampled_from(sorted(UNINFORMATIVE_TYPES)), st.sampled_from(sorted(set(MEDIA_TYPES.values()))))
def test_an_uninformative_answer_falls_back_to_the_extension(declared: str | None, by_extension: str) -> None:
    assert fetched_type(declared, by_extension) == by_extension


@given(
    st.from_regex(r"[a-z]{1,10}/[a-z0-9.+-]{1,20}", fullmatch=True).filter(
        lambda t: t not in SENDABLE_TYPES and t not in UNINFORMATIVE_TYPES
    ),
    st.none() | st.sampled_from(sorted(set(MEDIA_TYPES.values()))),
)
def test_an_unsendable_declared_type_is_5004(declared: str, by_extension: str | None) -> None:
    with pytest.raises(InvalidFileType):
        fetched_type(declared, by_extension)


def test_nothing_naming_a_type_is_5004() -> None:
    for declared in (None, "application/octet-stream", ""):
        with pytest.raises(InvalidFileType):
            fetched_type(declared, None)


@given(st.integers(min_value=0, max_value=3 * MAX_URL_MEDIA_BYTES))
def test_media_by_url_is_at_most_10_mb(size: int) -> None:
    if size <= MAX_URL_MEDIA_BYTES:
        assert check_url_media_size(size) == size
    else:
        with pytest.raises(FileTooLarge) as error:
            check_url_media_size(size)
        assert (error.value.status, error.value.code) == (400, 5005)


def test_the_url_limit_is_exactly_10_mib() -> None:
    assert check_url_media_size(10_485_760) == 10_485_760
    with pytest.raises(FileTooLarge):
        check_url_media_size(10_485_761)


@given(st.sampled_from(sorted(SUPPORTED_CONTENT_TYPES | SPEC_VOICE_TYPES)), casing, st.sampled_from(["", "; x=y"]))
def test_voice_memos_take_only_the_audio_formats_of_8_8(content_type: str, case: object, parameters: str) -> None:
    given_type = case(content_type) + parameters  # type: ignore[operator]
    if content_type in VOICE_MEMO_TYPES:
        assert check_voice_memo_type(given_type) == content_type
    else:
        with pytest.raises(InvalidFileType):
            check_voice_memo_type(given_type)


def test_midi_and_images_are_no_voice_memos() -> None:
    for content_type in ("audio/midi", "image/png", "video/mp4", "audio/flac", "audio/ogg"):
        with pytest.raises(InvalidFileType):
            check_voice_memo_type(content_type)


@given(st.integers(min_value=0, max_value=3 * MAX_VOICE_MEMO_BYTES))
def test_voice_memos_are_at_most_10_mb_else_413(size: int) -> None:
    if size <= MAX_VOICE_MEMO_BYTES:
        assert check_voice_memo_size(size) == size
    else:
        with pytest.raises(VoiceMemoTooLarge) as error:
            check_voice_memo_size(size)
        assert (error.value.status, error.value.code, error.value.message) == (
            413, 5001, "Voice memo file too large - maximum size is 10MB",
        )  # fmt: skip
