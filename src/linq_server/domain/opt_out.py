"""Opt-out keywords (api-core §6.2, §18): a whole message ``STOP``, ``UNSUBSCRIBE``, ``OPTOUT``,
``CANCEL``, ``END`` or ``QUIT`` (case-sensitive), or ``OPT OUT`` in any casing with or without a
space or hyphen, in a direct chat opts the sender out of every line of the partner. Any later
non-keyword message from that person, in any chat, opts them back in. Group chats never mark.
"""

from __future__ import annotations

import re
from enum import StrEnum

from linq_server.domain.message_errors import RecipientOptedOut

KEYWORDS = frozenset({"STOP", "UNSUBSCRIBE", "OPTOUT", "CANCEL", "END", "QUIT"})
_OPT_OUT = re.compile(r"(?i)opt[ -]?out")


class OptOutChange(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


def is_opt_out_keyword(text: str) -> bool:
    """The whole message (surrounding whitespace aside) is an opt-out keyword."""
    text = text.strip()
    return text in KEYWORDS or bool(_OPT_OUT.fullmatch(text))


def opt_out_change(text: str | None, *, is_group: bool) -> OptOutChange | None:
    """What an inbound message changes: a keyword in a DM opts out; a keyword in a group changes
    nothing; any other message (``text`` None for one without text) opts back in."""
    if text is not None and is_opt_out_keyword(text):
        return None if is_group else OptOutChange.OPT_OUT
    return OptOutChange.OPT_IN


def check_not_opted_out(*, opted_out: bool, is_group: bool, override_optout: bool) -> None:
    """403/2024 for a direct send to an opted-out recipient, unless this request overrides it."""
    if opted_out and not is_group and not override_optout:
        raise RecipientOptedOut()
