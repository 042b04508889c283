"""The key and the scope are judged before the body is read; a streamed body over the limit is cut off."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Api

CHUNK = b"x" * 65_536


def _call_asgi(api: Api, method: str, path: str, key: str | None, chunks: int) -> tuple[int, int]:
    """Send a chunked body straight to the ASGI app; returns (status, chunks the app asked for)."""
    app = api.client.app
    pulled = 0
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
        "app": app,
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": CHUNK, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return status[0], pulled


def test_an_anonymous_write_is_refused_before_a_byte_of_its_body_is_read(api: Api) -> None:
    for method, path in (("PUT", "/v1/book"), ("POST", "/v1/solve"), ("PUT", "/v1/book/accounts.csv")):
        assert _call_asgi(api, method, path, None, chunks=800) == (401, 0), path
        assert _call_asgi(api, method, path, "bp_not-a-key", chunks=800) == (401, 0), path


def test_a_key_without_the_scope_is_refused_before_the_body_is_read(api: Api) -> None:
    assert _call_asgi(api, "PUT", "/v1/book", api.keys["hr"], chunks=800) == (403, 0)
    assert _call_asgi(api, "POST", "/v1/plans", api.keys["hr"], chunks=800) == (403, 0)


def test_a_streamed_body_over_the_limit_is_413_and_reading_stops_at_the_limit(make_api: Any) -> None:
    api = make_api(max_body_bytes=1024 * 1024)
    status, pulled = _call_asgi(api, "PUT", "/v1/book", api.keys["ops"], chunks=800)
    assert status == 413
    assert pulled <= 1024 * 1024 // len(CHUNK) + 1
