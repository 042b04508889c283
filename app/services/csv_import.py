"""One CSV import through the API, either file: the body must say it is CSV, and only then is it read and
the stored book's accounts (or CSMs) replaced with the file's, all or nothing, in a write session off the
event loop (`PUT /v1/book/accounts.csv` and `PUT /v1/book/csms.csv`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import Database
from app.errors import BookError
from app.models import ImportResult
from app.services import book as book_service
from app.services.keys import Actor

CsvKind = Literal["accounts", "csms"]
CSV_CONTENT_TYPES = ("text/csv", "text/plain", "application/csv")
_REPLACE: dict[CsvKind, Callable[[Session, bytes, Actor, book_service.Expected], ImportResult]] = {
    "accounts": book_service.import_accounts_csv,
    "csms": book_service.import_csms_csv,
}


def check_csv_content_type(content_type: str) -> None:
    """A CSV body says it is CSV (or plain text), or says nothing; any other Content-Type is refused."""
    if content_type and not content_type.startswith(CSV_CONTENT_TYPES):
        raise BookError(
            f"Content-Type: expected text/csv (got {content_type!r})",
            field="Content-Type",
            value=content_type,
        )


async def import_csv(
    db: Database,
    kind: CsvKind,
    content_type: str,
    read_body: Callable[[], Awaitable[bytes]],
    actor: Actor,
    expected: book_service.Expected,
) -> ImportResult:
    """Replace the stored book's `kind` with a CSV body's. The body is read as sent (its encoding, UTF-8
    with or without BOM or Windows-1252, is detected with it) after its Content-Type passes; the blocking
    import runs in the thread pool with a write session, as a sync route would."""
    check_csv_content_type(content_type)
    data = await read_body()
    replace = _REPLACE[kind]

    def run() -> ImportResult:
        with db.write_session() as session:
            return replace(session, data, actor, expected)

    return await run_in_threadpool(run)
