"""Every error the API answers, in one shape (`ErrorResponse`), mapped here and nowhere else."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.revisions import etag
from app.core.db import WritersBusy
from app.errors import (
    BookError,
    Busy,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    SolveFailed,
    Stale,
    TooLarge,
    TooManyJobs,
    Unauthorized,
)
from app.models import ErrorResponse
from solver.errors import describe_error, field_path

log = logging.getLogger("bookplan.api")

STATUS_BY_ERROR: list[tuple[type[Exception], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Stale, 409),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (TooLarge, 413),
    (BookError, 422),
    (TooManyJobs, 429),
    (Busy, 503),
    (SolveFailed, 503),
]
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def _small(value: Any) -> Any:
    """A value worth echoing back: scalars (non-finite floats as text), short strings, small lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:197] + "..."
    try:
        text = json.dumps(value, default=str, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= 200 else None


def error_body(message: str, detail: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    response = ErrorResponse.model_validate({"message": message, "detail": detail or [], **extra})
    body = response.model_dump(mode="json")
    if body.get("changes") is None:
        body.pop("changes", None)
    for item in body["detail"]:  # row, column and expected belong to CSV cells only
        for key in ("row", "column", "expected"):
            if item.get(key) is None:
                item.pop(key, None)
    return body


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    detail = []
    for error in errors[:100]:
        loc = tuple(p for p in error.get("loc", ()) if p not in _LOCATIONS)
        message = describe_error({**error, "loc": loc})
        field = field_path(loc) or None
        named = message.split(": ", 1)[0] if ": " in message else None
        if named is not None and (field is None or named.startswith(field + ".")):
            field = named  # a book-level check names its field in the message
        value = _small(error.get("input")) if loc else None
        detail.append({"field": field, "message": message, "value": value})
    return detail


def domain_error_response(exc: DomainError | BookError, status: int) -> JSONResponse:
    value = _small(getattr(exc, "value", None))
    field = getattr(exc, "field", None)
    extra: dict[str, Any] = {}
    if isinstance(exc, Stale):
        extra["changes"] = exc.changes
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status in (429, 503):
        headers = {"Retry-After": "5"}
    if isinstance(exc, PreconditionFailed):
        headers = {"ETag": etag(exc.revision)}
    message = exc.message
    detail = [{"field": field, "message": message, "value": value}]
    problems = getattr(exc, "problems", None)
    if problems:  # a CSV file's every bad cell (CsvErrors)
        detail = [
            {
                "field": p.column,
                "message": p.message,
                "value": _small(p.value),
                "row": p.row,
                "column": p.column,
                "expected": p.expected,
            }
            for p in problems
        ]
    return JSONResponse(
        error_body(message, detail, **extra),
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = validation_detail([dict(e) for e in exc.errors()])
        message = detail[0]["message"] if detail else "invalid request"
        if len(detail) > 1:
            message += f" (and {len(detail) - 1} more problems)"
        return JSONResponse(error_body(message, detail), status_code=422)

    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        if exc.status_code == 400 and "parsing the body" in message:
            # FastAPI's answer to a body that is not text (bad UTF-8): bad input like any other, so 422.
            message = "body: could not be read as JSON text (is it UTF-8?)"
            return JSONResponse(error_body(message, [{"field": "body", "message": message}]), status_code=422)
        return JSONResponse(
            error_body(message, [{"field": None, "message": message, "value": None}]),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the client gets no stack trace.
        log.exception("unexpected error", exc_info=exc)
        message = "internal error: the service logged it; the request was not applied"
        return JSONResponse(error_body(message), status_code=500)

    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    for error_type, status in STATUS_BY_ERROR:

        async def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return domain_error_response(exc, status)  # type: ignore[arg-type]

        app.add_exception_handler(error_type, handler)

    async def on_database_busy(_request: Request, exc: Exception) -> JSONResponse:
        message = "the database is busy with other writes; retry in a few seconds"
        if isinstance(exc, OperationalError) and "locked" not in str(exc.orig):
            return await on_unexpected(_request, exc)
        log.warning("database busy: %s", exc)
        return JSONResponse(error_body(message), status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(WritersBusy, on_database_busy)
    app.add_exception_handler(OperationalError, on_database_busy)
    app.add_exception_handler(Exception, on_unexpected)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body: larger than the limit of {limit:,} bytes")


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: at once from Content-Length, or once a chunked body passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > self.max_bytes:
                    message = (
                        f"request body: {length:,} bytes is larger than the limit of {self.max_bytes:,} bytes"
                    )
                    response = JSONResponse(
                        error_body(message, [{"field": "body", "message": message, "value": length}]),
                        status_code=413,
                        headers={"Connection": "close"},
                    )
                    await response(scope, receive, send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
