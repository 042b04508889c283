"""Refuses, before any route sees it (422 naming the parameter): a NUL character in a request's path or
query string (no id or filter holds one, and PostgreSQL cannot store or compare text that does), and a
query parameter of the API given twice (`?limit=1&limit=500`: which one was meant is a guess)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_body


def repeated_parameter(query_string: bytes) -> str | None:
    """The first query parameter that appears more than once, or None (no API parameter is a list)."""
    seen: set[str] = set()
    for name, _value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None


def nul_parameter(path: str, query_string: bytes) -> str | None:
    """The name of the part of the URL that holds a NUL (`path`, or a query parameter), or None."""
    if "\x00" in path:
        return "path"
    query = query_string.decode("latin-1")
    if "\x00" not in query and "%00" not in query.lower():
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\x00") or "query"
    return "query"


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, query = scope.get("path", ""), scope.get("query_string", b"")
            field = nul_parameter(path, query)
            message = f"{field}: must not contain a NUL character (\\x00)"
            if field is None and path.startswith("/v1/"):
                field = repeated_parameter(query)
                message = f"{field}: given more than once; give it once"
            if field is not None:
                detail = [{"field": field, "message": message, "value": None}]
                await JSONResponse(error_body(message, detail), status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)
