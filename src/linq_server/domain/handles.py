"""Handles: E.164 phone numbers and email addresses (Apple IDs), parsed and normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from linq_server.domain.errors import InvalidPhoneNumber

# Linq's E.164 pattern: a plus, a non-zero digit, at most 15 digits in all; no spaces or punctuation.
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

HandleKind = Literal["phone", "email"]
# The longest email address (RFC 5321); checked first, as parsing a megabyte-long one costs a second.
MAX_HANDLE_CHARS = 254


@dataclass(frozen=True, slots=True)
class Handle:
    value: str
    kind: HandleKind


def parse_phone_number(raw: str) -> str:
    """Return ``raw`` as a normalised E.164 number, or raise ``InvalidPhoneNumber`` (400/1002).

    The text must already be strict E.164 (Linq rejects spaces, dashes and national formats) and
    must be a number that can exist in its country's numbering plan.
    """
    if not isinstance(raw, str) or not _E164.fullmatch(raw):
        raise InvalidPhoneNumber()
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber() from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber()
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_email(raw: str) -> str:
    """Return ``raw`` as a normalised email address (lower-cased), or raise ``InvalidPhoneNumber``.

    Linq's only documented code for a malformed handle is 1002, so a bad email answers with it too.
    """
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidPhoneNumber("Handle must be an E.164 phone number or a valid email address") from error
    return str(result.normalized).lower()


def parse_handle(raw: object) -> Handle:
    """Parse a participant/recipient handle: an email if it has an ``@``, else an E.164 number."""
    if not isinstance(raw, str) or len(raw) > MAX_HANDLE_CHARS:
        raise InvalidPhoneNumber()
    if "@" in raw:
        return Handle(parse_email(raw), "email")
    return Handle(parse_phone_number(raw), "phone")


def region_of(e164: str) -> str | None:
    """ISO 3166 alpha-2 region of an E.164 number, when the numbering plan tells it."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return str(region) if region and region != "ZZ" else None
