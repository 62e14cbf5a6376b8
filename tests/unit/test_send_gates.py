"""The pure send gates of api-core §7.4 and §18."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq_server.domain.errors import LineIneligible, RecipientBlocked, RecipientNotAllowed
from linq_server.domain.send_gates import check_line_eligible, check_not_blocked, check_recipients_allowed

handles = st.lists(st.sampled_from(["+14155550001", "+14155550002", "+14155550003", "a@b.co"]), min_size=1,
                   unique=True)  # fmt: skip


@given(handles, st.data(), st.booleans())
def test_a_block_stops_a_dm_and_only_an_all_blocked_group(
    recipients: list[str], data: st.DataObject, is_group: bool
) -> None:
    blocked = set(data.draw(st.lists(st.sampled_from(recipients), unique=True)))
    refused = bool(blocked) and (not is_group or blocked == set(recipients))
    if refused:
        with pytest.raises(RecipientBlocked):
            check_not_blocked(blocked, recipients, is_group=is_group)
    else:
        check_not_blocked(blocked, recipients, is_group=is_group)


def test_line_status_and_first_contact() -> None:
    check_line_eligible("ACTIVE")
    with pytest.raises(LineIneligible) as flagged:
        check_line_eligible("FLAGGED")
    assert (flagged.value.status, flagged.value.code) == (403, 2027)
    check_recipients_allowed(set())
    with pytest.raises(RecipientNotAllowed) as stranger:
        check_recipients_allowed({"+14155550001"})
    assert (stranger.value.status, stranger.value.code) == (403, 2008) and "+14155550001" in stranger.value.message
