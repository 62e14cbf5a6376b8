"""A delivery's body is the event's envelope as compact JSON, with the event's data encoded once for all."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from linq_server.webhooks.events import envelope, envelope_body

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(data=st.dictionaries(st.text(max_size=12), _JSON, max_size=6), event_type=st.text(min_size=1, max_size=30))
def test_the_body_is_the_envelope_with_the_data_spliced_in(data: dict[str, Any], event_type: str) -> None:
    fields: dict[str, Any] = {
        "event_type": event_type, "event_id": "6f1c0a52-4a8e-4f55-9c1e-3f0c3b8f0d21",
        "created_at": datetime(2026, 11, 29, 9, 0, 0, 123456, tzinfo=UTC), "partner_id": "p-1", "trace_id": "t" * 32,
        "webhook_version": "2026-02-03",
    }  # fmt: skip
    body = envelope_body(**fields, data_json=json.dumps(data, separators=(",", ":")))
    assert body == json.dumps(envelope(**fields, data=data), separators=(",", ":"))
    assert json.loads(body)["data"] == data
