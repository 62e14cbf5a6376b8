"""Typed errors of the Linq API. Each carries its HTTP status and Linq error code.

The API layer turns every ``LinqError`` into the documented envelope in one place
(``api/errors.py``); domain code just raises.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from linq_server.store.availability import is_unavailable


class LinqError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[int] = 3006
    default_message: ClassVar[str] = "Internal server error"
    # The SDK retries 409s unless told otherwise; permanent conflicts say so.
    should_retry: ClassVar[bool | None] = None

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class MissingRequiredField(LinqError):
    status, code, default_message = 400, 1001, "Missing required field"


class InvalidPhoneNumber(LinqError):
    status, code, default_message = 400, 1002, "Phone number must be in E.164 format"


class InvalidRequestBody(LinqError):
    status, code, default_message = 400, 1003, "Invalid request body"


class InvalidMessageContent(LinqError):
    status, code, default_message = 400, 1004, "Invalid message content"


class InvalidParameterValue(LinqError):
    status, code, default_message = 400, 1005, "Invalid parameter value"


class MethodNotAllowed(LinqError):
    status, code, default_message = 405, 1005, "Method not allowed"


class Unauthorized(LinqError):
    status, code, default_message = 401, 2004, "Unauthorized - missing or invalid authentication token"


class ResourceNotFound(LinqError):
    status, code, default_message = 404, 2001, "Resource not found"


class PhoneNumberPermissionDenied(LinqError):
    status, code, default_message = 403, 2006, "Phone number permission denied"


class InternalError(LinqError):
    status, code, default_message = 500, 3006, "Internal server error"


class DatabaseUnavailable(LinqError):
    """Linq's code for storage being unavailable, answered as 503 so clients and proxies retry it."""

    status, code, default_message = 503, 3001, "Server connection error"
    should_retry = True


def batch_failure(error: Exception, log: logging.Logger, what: str) -> LinqError:
    """What each request of a group commit that failed is answered: the rule it broke, 503 while the database
    is away (told once per outage where it is answered), else 500 with the traceback logged here, once."""
    if isinstance(error, LinqError):
        return error
    if is_unavailable(error):
        unavailable = DatabaseUnavailable()
        unavailable.__cause__ = error
        return unavailable
    log.error("%s failed", what, exc_info=error)
    return InternalError()


class StateConflict(LinqError):
    status, code, default_message = 409, 2015, "Operation conflicts with current state"
    should_retry = False


class WebhookSubscriptionNotFound(LinqError):
    status, code, default_message = 404, 2010, "Webhook subscription not found"


class ChatNotFound(LinqError):
    status, code, default_message = 404, 2001, "Resource not found"


class NotAGroupChat(LinqError):
    status, code = 409, 2015
    default_message = "Participants can only be added to or removed from group chats"
    should_retry = False


class CannotUpdateDirectChat(LinqError):
    status, code, default_message = 409, 1006, "Cannot update direct message chats"
    should_retry = False


class ChatUnavailable(LinqError):
    status, code, default_message = 409, 2013, "This chat is unavailable"
    should_retry = False


class ParticipantServiceMismatch(LinqError):
    status, code = 409, 2017
    default_message = "Operation not supported on this chat's service type"
    should_retry = False


class ChatBeingCreated(LinqError):
    # Retryable on purpose: the SDK's automatic retry then finds the chat the other request made.
    status, code, default_message = 409, 2009, "The chat is still being created"


class RateLimited(LinqError):
    """429/1007; ``retry_after`` (whole seconds) becomes the ``Retry-After`` header and ``error.retry_after``."""

    status, code, default_message = 429, 1007, "Rate limit exceeded"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Rate limited. Try again in {retry_after} seconds.")


class LineIneligible(LinqError):
    status, code, default_message = 403, 2027, "Phone number is not eligible to send"


class NoEligibleLine(LinqError):
    # No line was chosen, so none is blamed with a 403 (api-core §7.4); the code is the spec's suggestion.
    status, code, default_message = 409, 2015, "None of your phone numbers is eligible to send"


class RecipientBlocked(LinqError):
    status, code, default_message = 403, 2026, "Recipient is blocked"


class RecipientNotAllowed(LinqError):
    status, code = 403, 2008
    default_message = "Recipient not allowed: in the sandbox, a handle must message you first"
