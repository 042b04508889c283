"""Books as plan jobs solve them, stored once per content: forty jobs on one revision keep one copy.

A job keeps its own policy (overrides applied) beside the hash of the book it started from; the child's
input is that book with that policy. Jobs from before snapshots carry the whole book in `input_book`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.models import BookSnapshot, PlanJob
from solver.schema import Book

_SNAPSHOTS = BookSnapshot.__table__  # type: ignore[attr-defined]
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]


def store_book_snapshot(session: Session, base: Book) -> str:
    """Store `base` unless an identical book is stored already; returns its content hash."""
    text = base.model_dump_json(by_alias=True, exclude_unset=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(_SNAPSHOTS).values(sha256=digest, book=text).on_conflict_do_nothing(index_elements=["sha256"])
    )
    return digest


def job_policy(book: Book) -> dict[str, Any]:
    """The policy a job solves with, as stored beside its snapshot."""
    return book.policy.model_dump(mode="json", by_alias=True, exclude_unset=True)


def input_book_text(session: Session | Connection, job: dict[str, Any]) -> str:
    """The JSON text of the book a job solves: its snapshot with its own policy (or its legacy copy)."""
    if job.get("input_book") is not None:
        return str(job["input_book"])
    stored = session.execute(
        select(_SNAPSHOTS.c.book).where(_SNAPSHOTS.c.sha256 == job["book_sha256"])
    ).scalar()
    if stored is None:
        raise LookupError(f"plan {job['id']}: its book snapshot {job['book_sha256']} is missing")
    data = json.loads(stored)
    data["policy"] = job["input_policy"] or {}
    return json.dumps(data, separators=(",", ":"))


def solved_book(session: Session | Connection, job_id: str) -> Book:
    """The book a job solved, as the solver's Book."""
    row = session.execute(
        select(_JOBS.c.id, _JOBS.c.input_book, _JOBS.c.book_sha256, _JOBS.c.input_policy).where(
            _JOBS.c.id == job_id
        )
    ).one()
    return Book.model_validate_json(input_book_text(session, dict(row._mapping)))


def job_input_columns() -> list[Any]:
    """The columns `input_book_text` reads, for the runners' claim queries."""
    return [_JOBS.c.input_book, _JOBS.c.book_sha256, _JOBS.c.input_policy]
