"""Upload rules, signed links, capability answers and rate-limit waits: pure functions, no server."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from linq.types.supported_content_type import SupportedContentType

from linq_server.domain.attachment_errors import (
    AttachmentNotFound,
    ContentTypeMismatch,
    FileTooLarge,
    InvalidFileType,
    UploadLinkRefused,
    UploadSizeMismatch,
)
from linq_server.domain.attachment_rules import (
    MAX_UPLOAD_BYTES,
    SUPPORTED_CONTENT_TYPES,
    check_content_type,
    check_filename,
    check_upload_headers,
    check_upload_size,
)
from linq_server.domain.capability import answer, line_services
from linq_server.domain.contact_cards import CardFields, check_fields
from linq_server.domain.errors import InvalidParameterValue, RateLimited
from linq_server.domain.signed_links import LinkSigner
from linq_server.domain.throttles import check_window

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
IPHONE, ANDROID, BASIC, APPLE_ID = (
    frozenset({"iMessage", "RCS", "SMS"}), frozenset({"RCS", "SMS"}), frozenset({"SMS"}), frozenset({"iMessage"}),
)  # fmt: skip


def test_the_supported_types_are_exactly_the_sdks() -> None:
    assert frozenset(typing.get_args(SupportedContentType)) == SUPPORTED_CONTENT_TYPES


@given(st.sampled_from(sorted(SUPPORTED_CONTENT_TYPES)), st.sampled_from(["", "; charset=utf-8", " ; q=1"]))
def test_every_supported_type_is_accepted_in_any_case(content_type: str, parameters: str) -> None:
    assert check_content_type(content_type.upper() + parameters) == content_type


@given(st.text(max_size=60).filter(lambda value: value.split(";")[0].strip().lower() not in SUPPORTED_CONTENT_TYPES))
def test_anything_else_is_5004(content_type: str) -> None:
    with pytest.raises(InvalidFileType):
        check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["audio/flac", "audio/ogg", "application/x-msdownload", "application/octet-stream"]
)
def test_the_explicitly_rejected_types(content_type: str) -> None:
    with pytest.raises(InvalidFileType):
        check_content_type(content_type)


@given(st.integers(min_value=1, max_value=MAX_UPLOAD_BYTES))
def test_sizes_up_to_100_mb(size: int) -> None:
    assert check_upload_size(size) == size


@given(st.integers(min_value=MAX_UPLOAD_BYTES + 1))
def test_more_than_100_mb_is_5005(size: int) -> None:
    with pytest.raises(FileTooLarge):
        check_upload_size(size)


@given(st.integers(max_value=0))
def test_less_than_one_byte_is_1005(size: int) -> None:
    with pytest.raises(InvalidParameterValue):
        check_upload_size(size)


@given(st.text(min_size=1, max_size=255).filter(lambda name: name.strip() and name not in (".", "..")))
def test_filenames(name: str) -> None:
    if "/" in name or "\\" in name or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
        with pytest.raises(InvalidParameterValue):
            check_filename(name)
    else:
        assert check_filename(name) == name


@pytest.mark.parametrize("name", ["", " ", "x" * 256, "a/b", "a\\b", "..", "a\x00b", "a\nb"])
def test_bad_filenames(name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        check_filename(name)


def test_upload_headers() -> None:
    check_upload_headers(content_type="image/PNG; x=y", content_length="10", declared_type="image/png", size=10)
    with pytest.raises(ContentTypeMismatch):
        check_upload_headers(content_type="image/jpeg", content_length="10", declared_type="image/png", size=10)
    with pytest.raises(ContentTypeMismatch):
        check_upload_headers(content_type=None, content_length="10", declared_type="image/png", size=10)
    for length in (None, "9", "11", "-10", "ten", "1e1"):
        with pytest.raises(UploadSizeMismatch):
            check_upload_headers(content_type="image/png", content_length=length, declared_type="image/png", size=10)


@given(st.uuids(), st.integers(min_value=1, max_value=10**6))
def test_an_upload_link_is_valid_until_it_expires(attachment_id: object, lifetime: int) -> None:
    signer = LinkSigner("server key")
    url = signer.upload_url("http://h", str(attachment_id), NOW + timedelta(seconds=lifetime))
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    signer.check_upload(str(attachment_id), query["expires"], query["signature"], NOW)
    with pytest.raises(UploadLinkRefused):
        signer.check_upload(str(attachment_id), query["expires"], query["signature"], NOW + timedelta(seconds=lifetime))
    with pytest.raises(UploadLinkRefused):
        signer.check_upload(str(attachment_id), str(int(query["expires"]) + 1), query["signature"], NOW)
    with pytest.raises(UploadLinkRefused):
        LinkSigner("another key").check_upload(str(attachment_id), query["expires"], query["signature"], NOW)


@given(st.uuids(), st.uuids(), st.text())
def test_a_download_signature_names_one_attachment(first: object, second: object, forged: str) -> None:
    signer = LinkSigner("server key")
    url = signer.download_url("http://h", str(first), "a b.png")
    assert "/a%20b.png?" in url
    signature = url.rsplit("signature=", 1)[1]
    assert signer.is_download_signature(str(first), signature)
    assert not signer.is_download_signature(str(second), signature) or first == second
    assert not signer.is_download_signature(str(first), forged) or forged == signature


@given(st.uuids(), st.text(min_size=1, max_size=40), st.text(max_size=80))
def test_our_download_links_name_their_attachment_and_nothing_else_does(
    attachment_id: object, filename: str, other: str
) -> None:
    signer = LinkSigner("server key")
    link = signer.download_url("http://h", str(attachment_id), filename)
    assert signer.linked_attachment("http://h", link) == str(attachment_id)
    assert signer.linked_attachment("https://elsewhere", link) is None  # another host's URL is just a URL
    assert signer.linked_attachment("http://h", f"https://cdn.example/{other}") is None
    for refused in (link.replace("signature=", "signature=x"), link.split("?")[0], f"{link}&signature=again"):
        with pytest.raises(AttachmentNotFound):
            signer.linked_attachment("http://h", refused)
    with pytest.raises(AttachmentNotFound):
        LinkSigner("another key").linked_attachment("http://h", link)


@pytest.mark.parametrize(
    ("checked", "recipient", "expected"),
    [
        ("iMessage", IPHONE, (True, None, "iMessage")),
        ("iMessage", ANDROID, (False, "not_supported", "RCS")),
        ("iMessage", BASIC, (False, "not_supported", "SMS")),
        ("iMessage", APPLE_ID, (True, None, "iMessage")),
        ("iMessage", frozenset(), (False, "not_supported", None)),
        ("RCS", IPHONE, (True, None, "iMessage")),
        ("RCS", ANDROID, (True, None, "RCS")),
        ("RCS", BASIC, (False, "not_supported", "SMS")),
    ],
)
def test_capability_answers(checked: str, recipient: frozenset[str], expected: tuple[object, ...]) -> None:
    result = answer(checked, "x", recipient, line_services("iMessage", "enabled"))
    assert (result.available, result.reason, result.selected_service) == expected


def test_what_a_line_can_send() -> None:
    assert line_services("iMessage", "enabled") == IPHONE
    assert line_services("iMessage", "not_enabled") == frozenset({"iMessage", "SMS"})
    assert line_services("RCS", "enabled") == ANDROID
    assert line_services("RCS", "no_account") == BASIC
    assert answer("iMessage", "x", ANDROID, line_services("iMessage", "not_enabled")).selected_service == "SMS"


@given(st.floats(min_value=0.001, max_value=10**6))
def test_a_full_window_says_how_long_to_wait_in_whole_seconds(seconds: float) -> None:
    with pytest.raises(RateLimited) as limited:
        check_window(NOW + timedelta(seconds=seconds), NOW)
    assert limited.value.retry_after >= max(1, seconds) and limited.value.retry_after - seconds < 1
    assert limited.value.message == f"Rate limited. Try again in {limited.value.retry_after} seconds."
    check_window(None, NOW)


@pytest.mark.parametrize(
    "fields",
    [
        CardFields(first_name=""),
        CardFields(first_name=" "),
        CardFields(last_name="x" * 256),
        CardFields(image_url="ftp://a/b"),
    ],
)
def test_bad_card_fields(fields: CardFields) -> None:
    with pytest.raises(InvalidParameterValue):
        check_fields(fields)
