"""No input to the attachment, typing, contact card and capability routes makes the server answer 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_fuzz import Driver, http, json_values

__all__ = ["http"]  # the module-scoped fixture, shared

ZERO = "00000000-0000-0000-0000-000000000000"
PATHS = [
    "/api/partner/v3/attachments",
    f"/api/partner/v3/attachments/{ZERO}",
    "/api/partner/v3/attachments/not-a-uuid",
    f"/api/partner/v3/chats/{ZERO}/typing",
    f"/api/partner/v3/chats/{ZERO}/share_contact_card",
    "/api/partner/v3/contact_card",
    "/api/partner/v3/capability/check_imessage",
    "/api/partner/v3/capability/check_rcs",
    f"/files/uploads/{ZERO}",
    "/files/uploads/x",
    f"/files/attachments/{ZERO}/a.png",
    "/files/attachments/x/%2e%2e",
    "/sandbox/lines/+14155550100",
    f"/sandbox/chats/{ZERO}/typing",
]
KEYS = [
    "filename",
    "content_type",
    "size_bytes",
    "phone_number",
    "first_name",
    "last_name",
    "image_url",
    "address",
    "from",
    "rcs",
]
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=st.sampled_from(PATHS),
    body=bodies,
    content_type=st.sampled_from(["application/json", "image/png", "", "text/plain"]),
    authorized=st.booleans(),
    query=st.dictionaries(st.sampled_from(["phone_number", "expires", "signature"]), st.text(max_size=12)),
)
def test_no_request_yields_a_500(
    http: Driver, method: str, path: str, body: bytes, content_type: str, authorized: bool, query: dict[str, str]
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if authorized:
        headers["Authorization"] = f"Bearer {http.key}"
    response = http.request(method, path, content=body, headers=headers, params=query)
    assert response.status_code < 500, response.text
    assert "x-trace-id" in response.headers
