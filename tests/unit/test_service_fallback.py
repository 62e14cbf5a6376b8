"""The per-message fallback along iMessage → RCS → SMS (api-core §13.6), as a pure function."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from linq_server.carrier.base import SERVICE_ORDER
from linq_server.domain.service_selection import LINE_SERVICES, fallback_service

services = st.sampled_from(SERVICE_ORDER)
receivable = st.frozensets(services)
preferences = st.sampled_from([None, "iMessage", "RCS", "SMS"])
line_types = st.sampled_from(["iMessage", "RCS"])
part_types = st.sets(st.sampled_from(["text", "media", "link", "imessage_app", "app_clip"]), min_size=1)


@given(services, preferences, receivable, line_types, part_types)
def test_a_fallback_is_a_later_service_both_ends_take(
    service: str, preferred: str | None, device: frozenset[str], line_type: str, parts: set[str]
) -> None:
    chosen = fallback_service(service, preferred=preferred, receivable=device, line_type=line_type, part_types=parts)
    if chosen is None:
        return
    assert SERVICE_ORDER.index(chosen) > SERVICE_ORDER.index(service)
    assert chosen in device and chosen in LINE_SERVICES[line_type]
    assert preferred != "iMessage" and not parts & {"imessage_app", "app_clip"}
    skipped = SERVICE_ORDER[SERVICE_ORDER.index(service) + 1 : SERVICE_ORDER.index(chosen)]
    assert not any(s in device and s in LINE_SERVICES[line_type] for s in skipped)  # the first that works


def test_the_chain_and_what_never_falls_back() -> None:
    text = {"text"}
    assert fallback_service("iMessage", preferred=None, receivable=frozenset({"RCS", "SMS"}), line_type="iMessage",
                            part_types=text) == "RCS"  # fmt: skip
    assert fallback_service("iMessage", preferred=None, receivable=frozenset({"SMS"}), line_type="iMessage",
                            part_types=text) == "SMS"  # fmt: skip
    assert fallback_service("RCS", preferred="RCS", receivable=frozenset({"SMS"}), line_type="RCS",
                            part_types=text) == "SMS"  # fmt: skip
    assert fallback_service("iMessage", preferred="iMessage", receivable=frozenset({"SMS"}), line_type="iMessage",
                            part_types=text) is None  # fmt: skip
    assert fallback_service("iMessage", preferred=None, receivable=frozenset({"SMS"}), line_type="iMessage",
                            part_types={"app_clip"}) is None  # fmt: skip
    assert fallback_service("SMS", preferred=None, receivable=frozenset(), line_type="iMessage",
                            part_types=text) is None  # fmt: skip
