from __future__ import annotations

import string

import phonenumbers
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from linq_server.domain.errors import InvalidPhoneNumber
from linq_server.domain.handles import parse_email, parse_handle, parse_phone_number, region_of

# Valid numbers built from real country calling codes, so they pass libphonenumber's possibility check.
_example_numbers = [
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in ("US", "GB", "FR", "DE", "IN", "BR", "JP", "AU")
    if (example := phonenumbers.example_number(region)) is not None
]


@pytest.mark.parametrize("number", _example_numbers)
def test_valid_e164_numbers_are_kept_as_they_are(number: str) -> None:
    assert parse_phone_number(number) == number


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+",
        "12025550100",
        "+1 202 555 0100",
        "+1-202-555-0100",
        "(202) 555-0100",
        "+0123456789",
        "+1202555010012345678",
        "+12",
        "++12025550100",
        "+1202555010a",
        " +12025550100",
    ],
)
def test_anything_but_strict_e164_is_refused_with_1002(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_phone_number(raw)
    assert (caught.value.status, caught.value.code) == (400, 1002)
    assert caught.value.message == "Phone number must be in E.164 format"


# Valid numbers of every region libphonenumber knows (mobile and fixed line), with their last two
# digits drawn: the length, and so the possibility check, stays that of a real number.
_every_region_examples = sorted(
    {
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)
valid_e164 = st.one_of(
    st.builds(lambda number, tail: number[:-2] + f"{tail:02d}", st.sampled_from(_every_region_examples),
              st.integers(0, 99)),
    st.integers(0, 99).map(lambda tail: f"+120255501{tail:02d}"),  # +1 202 555 01xx, the fictional range
)  # fmt: skip


@given(valid_e164)
def test_valid_e164_numbers_are_accepted_unchanged_and_only_in_e164(number: str) -> None:
    assert parse_phone_number(number) == number
    assert parse_handle(number) == parse_handle(parse_phone_number(number))
    assert parse_handle(number).kind == "phone"
    parsed = phonenumbers.parse(number, None)
    # The same number written any other way is refused, never normalised into E.164.
    spaced = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    for other in (spaced, number[1:], f" {number}", number + " "):
        with pytest.raises(InvalidPhoneNumber):
            parse_phone_number(other)


@given(st.text(alphabet=string.printable, max_size=20) | valid_e164)
def test_phone_parser_either_refuses_or_returns_strict_e164(raw: str) -> None:
    try:
        parsed = parse_phone_number(raw)
    except InvalidPhoneNumber:
        event("refused")
        return
    event("accepted")
    assert parsed == raw
    assert parsed.startswith("+") and parsed[1:].isdigit() and len(parsed) <= 16


@given(st.sampled_from(_example_numbers))
def test_phone_handles_round_trip(number: str) -> None:
    handle = parse_handle(number)
    assert handle.kind == "phone" and handle.value == number
    assert parse_handle(handle.value) == handle


@pytest.mark.parametrize(
    ("email", "normalised"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("user_name-1@example-domain.org", "user_name-1@example-domain.org"),
        ("x@example.io", "x@example.io"),
    ],
)
def test_ordinary_emails_are_accepted_and_normalised_to_lower_case(email: str, normalised: str) -> None:
    assert parse_email(email) == normalised
    assert parse_handle(email) == parse_handle(normalised)
    assert parse_handle(email).kind == "email"


@given(st.emails())
def test_any_email_is_either_refused_with_1002_or_normalised_idempotently(email: str) -> None:
    # hypothesis' generator is RFC 5321-wide: exotic forms may be refused, but only with 1002, never a crash.
    try:
        normalised = parse_email(email)
    except InvalidPhoneNumber as refused:
        assert refused.code == 1002
        return
    assert normalised == normalised.lower()
    assert parse_email(normalised) == normalised


@pytest.mark.parametrize("raw", ["a@", "@example.com", "a@@example.com", "a b@example.com", "a@example"])
def test_malformed_emails_are_refused_with_1002(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_handle(raw)
    assert caught.value.code == 1002


def test_emails_are_normalised_case_insensitively() -> None:
    assert parse_handle("Jane.Doe@Example.COM").value == "jane.doe@example.com"


def test_region_is_read_from_the_numbering_plan() -> None:
    assert region_of("+442079460000") == "GB"
    assert region_of("+12025550100") == "US"
