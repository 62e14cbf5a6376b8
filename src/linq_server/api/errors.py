"""The ONE place where exceptions become Linq's error envelope.

``{"error": {"status", "code", "message", "doc_url"}, "success": false, "trace_id"}``
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from linq_server.api.json_response import JSONResponse
from linq_server.domain.errors import (
    DatabaseUnavailable,
    InternalError,
    InvalidParameterValue,
    InvalidRequestBody,
    LinqError,
    MethodNotAllowed,
    MissingRequiredField,
    RateLimited,
    ResourceNotFound,
)
from linq_server.outage import Outage
from linq_server.store.availability import is_unavailable
from linq_server.webhooks.errors import WebhookTargetRefused

log = logging.getLogger("linq_server.api")

_BODY_SHAPE_ERRORS = {"json_invalid", "model_attributes_type", "dict_type", "model_type", "json_type"}


def doc_url(code: int) -> str:
    """Linq's page for an error code, e.g. https://docs.linqapp.com/error/codes/2xxx/2001/."""
    return f"https://docs.linqapp.com/error/codes/{code // 1000}xxx/{code}/"


def envelope(
    error: LinqError, trace_id: str | None, headers: dict[str, str] | None = None, *, retry_after: int | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "error": {"status": error.status, "code": error.code, "message": error.message, "doc_url": doc_url(error.code)},
        "success": False,
    }
    headers = dict(headers or {})
    if retry_after is None and isinstance(error, RateLimited):
        retry_after = error.retry_after
    if retry_after is not None:
        # A 429 says when to come back, in the body and in the header the SDK waits on.
        body["error"]["retry_after"] = retry_after
        headers["retry-after"] = str(retry_after)
    if trace_id:
        body["trace_id"] = trace_id
    if error.should_retry is not None:
        headers["x-should-retry"] = "true" if error.should_retry else "false"
    return JSONResponse(body, status_code=error.status, headers=headers)


def internal_error_response(trace_id: str | None) -> JSONResponse:
    return envelope(InternalError(), trace_id)


# Seconds a client is told to wait while the database is away (a restart takes a few).
UNAVAILABLE_RETRY_AFTER = 5
_database = Outage("the API's database", log, settle_seconds=5.0)


def unavailable_response(cause: BaseException, trace_id: str | None) -> JSONResponse:
    """503 with ``Retry-After`` while the database is away; told once per outage, not per request."""
    _database.failed(cause)
    return envelope(DatabaseUnavailable(), trace_id, {"retry-after": str(UNAVAILABLE_RETRY_AFTER)})


def failure_response(error: Exception, trace_id: str | None) -> JSONResponse:
    """The answer to an exception nothing else handled: 503 while the database is away, else 500/3006 with
    its traceback."""
    if is_unavailable(error):
        return unavailable_response(error, trace_id)
    log.error("unhandled error (trace_id=%s)", trace_id, exc_info=error)
    return internal_error_response(trace_id)


def answered() -> None:
    """A request was answered without a failure: an outage of the database, if one was told, is over."""
    if _database.ongoing:
        _database.recovered()


def _trace_id(request: Request) -> str | None:
    return getattr(request.state, "trace_id", None)


def _field(loc: tuple[Any, ...]) -> str:
    # Drop the "body"/"query" prefix: users name fields, not parameter sources.
    return ".".join(str(part) for part in loc[1:]) or str(loc[0] if loc else "body")


def classify_validation_error(errors: list[dict[str, Any]]) -> LinqError:
    """Map a request-parsing failure to Linq's codes: malformed body 1003, missing field 1001, else 1005."""
    first = errors[0] if errors else {"type": "json_invalid", "loc": ("body",)}
    kind, loc = first.get("type", ""), tuple(first.get("loc", ()))
    if kind in _BODY_SHAPE_ERRORS and len(loc) <= 1:
        return InvalidRequestBody()
    if kind == "json_invalid":
        return InvalidRequestBody()
    if kind == "missing" or ("input" in first and first["input"] is None and len(loc) > 1):
        # A required field sent as null is as missing as one left out.
        return MissingRequiredField(f"Missing required field: {_field(loc)}")
    return InvalidParameterValue(f"Invalid parameter value: {_field(loc)}: {first.get('msg', 'invalid')}")


async def _linq_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LinqError)
    if isinstance(error, DatabaseUnavailable):
        return unavailable_response(error.__cause__ or error, _trace_id(request))
    if isinstance(error, InternalError):
        log.error("%s (trace_id=%s)", error.message, _trace_id(request))
    elif error.status >= 500:  # a documented outage answer (e.g. no live relay connection), not our fault
        log.warning("%s (trace_id=%s)", error.message, _trace_id(request))
    return envelope(error, _trace_id(request))


async def _webhook_target_refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, WebhookTargetRefused)
    return envelope(InvalidParameterValue(error.message), _trace_id(request))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return envelope(classify_validation_error(list(error.errors())), _trace_id(request))


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(routes: list[BaseRoute], scope: MutableMapping[str, Any]) -> str:
    """The ``Allow`` header of a 405: every method some route serves at this path (RFC 9110 §15.5.6).

    Starlette names only the methods of the first route that matched the path, so ask every route.
    """
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    mapped: LinqError
    headers: dict[str, str] = {}
    if error.status_code == 404:
        mapped = ResourceNotFound()
    elif error.status_code == 405:
        mapped = MethodNotAllowed()
        headers["allow"] = allowed_methods(request.app.router.routes, request.scope)
    elif error.status_code == 400:
        mapped = InvalidRequestBody()
    else:
        mapped = InternalError()
    return envelope(mapped, _trace_id(request), headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LinqError, _linq_error)
    app.add_exception_handler(WebhookTargetRefused, _webhook_target_refused)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
