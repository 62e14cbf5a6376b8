"""Field types for request bodies: every free-text field has a length limit (longer → 400/1005).

What a string may hold (no NUL, no lone surrogate) is checked once for the whole body by
``api/body_guard.py``; here only how long it may be. Linq's documented limits where it has one.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from linq_server.domain.handles import MAX_HANDLE_CHARS
from linq_server.domain.message_parts import MAX_URL_CHARS
from linq_server.domain.webhook_subscriptions import MAX_HEADER_NAME

MAX_IDEMPOTENCY_KEY_CHARS = 255  # Linq: message.idempotency_key maxLength 255
MAX_DISPLAY_NAME_CHARS = 255  # Linq documents none
MAX_NAME_CHARS = 64  # event types, service names, operation names: the longest known is far shorter
MAX_LIST_ITEMS = 100  # lists of names or numbers; `to` has its own documented limit (31)

Handle = Annotated[str, Field(max_length=MAX_HANDLE_CHARS)]
Url = Annotated[str, Field(max_length=MAX_URL_CHARS)]
IdempotencyKey = Annotated[str, Field(max_length=MAX_IDEMPOTENCY_KEY_CHARS)]
DisplayName = Annotated[str, Field(max_length=MAX_DISPLAY_NAME_CHARS)]
HeaderName = Annotated[str, Field(max_length=MAX_HEADER_NAME)]
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
Names = Annotated[list[Name], Field(max_length=MAX_LIST_ITEMS)]
Handles = Annotated[list[Handle], Field(max_length=MAX_LIST_ITEMS)]
