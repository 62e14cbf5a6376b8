"""Typed errors of the message endpoints (api-core §3), each with its HTTP status and Linq code."""

from __future__ import annotations

from linq_server.domain.errors import LinqError


class InvalidIMessageApp(LinqError):
    status, code, default_message = 400, 1008, "Invalid iMessage app message"


class MessageNotFound(LinqError):
    status, code, default_message = 404, 2002, "Message not found"


class IMessageOnlyContent(LinqError):
    status, code, default_message = 409, 2018, "iMessage app messages can only be sent over iMessage"
    should_retry = False


class MentionInDirectChat(LinqError):
    status, code, default_message = 409, 2023, "Mentions can only be sent to group chats"
    should_retry = False


class RecipientOptedOut(LinqError):
    status, code = 403, 2024
    default_message = "The recipient has opted out of messages from you; set override_optout to send anyway"


class AppClipServiceUnsupported(LinqError):
    # The spec leaves the status open (400 or 409); a conflict with the chosen service reads as 409 like 2018.
    status, code, default_message = 409, 2028, "App Clips can only be sent over iMessage"
    should_retry = False


class VoiceMemoServiceUnsupported(LinqError):
    # Voice memos exist on iMessage and RCS only; 2017 is Linq's code for an action the chat's service lacks.
    status, code, default_message = 409, 2017, "Voice memos can only be sent in iMessage and RCS chats"
    should_retry = False
