"""The ONE place where exceptions become Linq's error envelope.

``{"error": {"status", "code", "message"}, "success": false, "trace_id"}``
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from linq_server.domain.errors import (
    InternalError,
    InvalidParameterValue,
    InvalidRequestBody,
    LinqError,
    MethodNotAllowed,
    MissingRequiredField,
    ResourceNotFound,
)
from linq_server.webhooks.errors import WebhookTargetRefused

log = logging.getLogger("linq_server.api")

_BODY_SHAPE_ERRORS = {"json_invalid", "model_attributes_type", "dict_type", "model_type", "json_type"}


def envelope(error: LinqError, trace_id: str | None) -> JSONResponse:
    body: dict[str, Any] = {
        "error": {"status": error.status, "code": error.code, "message": error.message},
        "success": False,
    }
    headers = {}
    if trace_id:
        body["trace_id"] = trace_id
    if error.should_retry is not None:
        headers["x-should-retry"] = "true" if error.should_retry else "false"
    return JSONResponse(body, status_code=error.status, headers=headers)


def internal_error_response(trace_id: str | None) -> JSONResponse:
    return envelope(InternalError(), trace_id)


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
    if error.status >= 500:
        log.error("%s (trace_id=%s)", error.message, _trace_id(request))
    return envelope(error, _trace_id(request))


async def _webhook_target_refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, WebhookTargetRefused)
    return envelope(InvalidParameterValue(error.message), _trace_id(request))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return envelope(classify_validation_error(list(error.errors())), _trace_id(request))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    mapped: LinqError
    if error.status_code == 404:
        mapped = ResourceNotFound()
    elif error.status_code == 405:
        mapped = MethodNotAllowed()
    elif error.status_code == 400:
        mapped = InvalidRequestBody()
    else:
        mapped = InternalError()
    return envelope(mapped, _trace_id(request))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LinqError, _linq_error)
    app.add_exception_handler(WebhookTargetRefused, _webhook_target_refused)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
