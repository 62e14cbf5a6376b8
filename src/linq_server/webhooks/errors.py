"""Errors of the webhooks package, free of the domain's error types.

``api/errors.py`` maps ``WebhookTargetRefused`` to the same envelope as an invalid parameter (400/1005).
"""

from __future__ import annotations


class WebhookTargetRefused(Exception):
    """A target URL that may not be used: malformed, an unknown ``?version=``, unresolvable, or internal."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
