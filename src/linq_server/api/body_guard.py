"""The request-body guard: one rule at the edge for every route, before any route reads a byte.

* A body over ``MAX_BODY_BYTES`` is refused with 413 before it is read whole: at once when
  ``Content-Length`` says so, else as soon as the streamed (chunked) bytes pass the limit.
* A JSON body (no content type, ``application/json`` or ``application/*+json``, as FastAPI reads
  them) must be UTF-8 JSON (an initial BOM is ignored, RFC 8259 §8.1), without NaN/Infinity,
  duplicate keys or nesting deeper than ``MAX_JSON_DEPTH``: 400/1003 otherwise.
* No string in it, keys included, may hold NUL (PostgreSQL text cannot store it) or a lone
  surrogate (no UTF-8 form, so it could be neither stored nor echoed): 400/1005 naming the field.

So every value a route sees can be stored on both databases and written back in a response.
"""

from __future__ import annotations

import codecs
import functools
import json
from email.message import Message as MimeHeader
from typing import Any, NoReturn

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linq_server.api.errors import envelope
from linq_server.domain.errors import InvalidParameterValue, InvalidRequestBody, LinqError
from linq_server.domain.signed_links import UPLOAD_PATH

MAX_BODY_BYTES = 1024 * 1024
# Attachment uploads (up to 100 MB) stream to storage; their route checks the signed link, the exact
# declared size and the type before it reads a byte, so they bypass this guard.
STREAMED_PATHS = (UPLOAD_PATH + "/",)
# Linq bodies nest about six deep (message.parts[].…); 32 leaves room for free-form objects.
MAX_JSON_DEPTH = 32


class RequestTooLarge(LinqError):
    # Linq documents no code for an oversize JSON body; 1003 is its "invalid request body".
    status, code = 413, 1003
    default_message = f"Request body too large: the limit is {MAX_BODY_BYTES} bytes"


class _BadJson(ValueError):
    pass


def _refuse_constant(name: str) -> NoReturn:
    raise _BadJson(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        # Parsers disagree on which duplicate wins; refusing leaves no room for a mismatch.
        raise _BadJson("duplicate keys in an object")
    return value


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidParameterValue(f"Invalid parameter value: {where}: text must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidParameterValue(f"Invalid parameter value: {where}: text must not hold lone surrogates") from error


def check_json_text(value: Any) -> None:
    """Refuse (400/1005) any string, key or value, that could not be stored and echoed; 1003 if too deep."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:  # iterative: a recursive walk is itself a stack overflow waiting for a deep body
        item, where, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth >= MAX_JSON_DEPTH:
            raise InvalidRequestBody(f"Invalid request body: nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            _check_text(item, where or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else key
                _check_text(key, path)
                stack.append((child, path, depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{where}.{index}" if where else str(index), depth + 1))


def check_json_body(body: bytes) -> None:
    """Refuse a JSON request body that is not strict UTF-8 JSON (400/1003) or holds unstorable text (1005)."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        text = body.decode("utf-8")  # strict: encoded surrogates (ED A0 80) are not UTF-8
    except UnicodeDecodeError as error:
        raise InvalidRequestBody("Invalid request body: it must be UTF-8 encoded JSON") from error
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except _BadJson as error:
        raise InvalidRequestBody(f"Invalid request body: {error}") from error
    except (ValueError, RecursionError) as error:  # RecursionError: nesting past the parser's own limit
        raise InvalidRequestBody() from error
    check_json_text(value)


@functools.lru_cache(maxsize=64)  # parsing the header is slow for what it is, and clients repeat theirs
def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse a body of this content type as JSON (it does when none is given)."""
    if not content_type:
        return True
    header = MimeHeader()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _declared_too_large(scope: Scope) -> bool:
    declared = _header(scope, b"content-length")
    return declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES


class BodyGuardMiddleware:
    """Reads each request body (up to the limit) and checks it before the app sees it; see the module."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(STREAMED_PATHS):
            await self.app(scope, receive, send)
            return
        try:
            if _declared_too_large(scope):
                raise RequestTooLarge()
            body = await _read_bounded(receive)
            if body is None:
                return  # the client went away; nobody to answer
            if body and is_json(_header(scope, b"content-type")):
                check_json_body(body)
        except LinqError as error:
            trace_id = scope.get("state", {}).get("trace_id")
            await envelope(error, trace_id)(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later reads wait for the disconnect, as they would have
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read_bounded(receive: Receive) -> bytes | None:
    """The whole body, or None on disconnect; RequestTooLarge as soon as it passes the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
