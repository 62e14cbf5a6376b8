"""A capability check's answer as the API shows it (HandleCheckResponse)."""

from __future__ import annotations

from typing import Any

from linq_server.domain.capability import CapabilityAnswer


def answer_json(answer: CapabilityAnswer) -> dict[str, Any]:
    """``reason`` only on a negative answer, ``selected_service`` only when one is known."""
    body: dict[str, Any] = {"address": answer.address, "available": answer.available}
    if answer.reason is not None:
        body["reason"] = answer.reason
    if answer.selected_service is not None:
        body["selected_service"] = answer.selected_service
    return body
