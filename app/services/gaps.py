"""Hiring-gap reports over HTTP: computed in a child process (CP-SAT packings), cached per book revision.

HR tools poll the stored book's report; the cache (keyed by the book's revision and the request) answers
them in a millisecond, and only the first request after a change pays for the packing.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError, Busy, SolveFailed
from app.runner.child import call_in_child
from app.services.book import current_revision, current_revision_async
from app.services.plans import body_sha256, stored_book_snapshot
from solver.schema import Book

TARGET = "app.services.gaps:report_json"
CACHE_SIZE = 32


def report_json(payload: str) -> str:
    """Runs in the child: {"book": ..., "request": ...} in, the GapReport as JSON text out."""
    from solver.gaps import gap_request_from_data, hiring_gaps
    from solver.io import book_from_data

    data = json.loads(payload)
    book = book_from_data(data["book"])
    return hiring_gaps(book, gap_request_from_data(data["request"])).model_dump_json()


class GapReports:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._guard = threading.Lock()
        # Each report runs a solver child: at most this many at once, like synchronous solves (503 beyond).
        self._slots = threading.BoundedSemaphore(settings.gap_report_concurrency)

    async def cached(self, db: Database, request: dict[str, object]) -> bytes | None:
        """The stored book's report if this revision's is cached, else None."""
        return self._get((await current_revision_async(db), body_sha256(request)))

    def for_stored_book(self, db: Database, request: dict[str, object]) -> bytes:
        key = (current_revision(db), body_sha256(request))
        cached = self._get(key)
        if cached is not None:
            return cached
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # concurrent first requests wait for one computation instead of starting their own
            cached = self._get(key)
            if cached is not None:
                return cached
            book, revision_read = stored_book_snapshot(db)
            report = self.compute(book, request)
            with self._guard:
                self._cache[(revision_read, key[1])] = report
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
                self._locks.pop(key, None)
            return report

    def _get(self, key: tuple[int, str]) -> bytes | None:
        with self._guard:
            report = self._cache.get(key)
            if report is not None:
                self._cache.move_to_end(key)
            return report

    def compute(self, book: Book, request: dict[str, object]) -> bytes:
        if not self._slots.acquire(blocking=False):
            raise Busy(
                f"all {self.settings.gap_report_concurrency} hiring-gap report slots are busy: retry shortly "
                "(GET /v1/hiring-gaps on the stored book is cached per revision)"
            )
        try:
            return self._compute(book, request)
        finally:
            self._slots.release()

    def _compute(self, book: Book, request: dict[str, object]) -> bytes:
        # The service's solve time limit caps a request's: one report must not hold a child for minutes.
        limit = self.settings.solve_time_limit_seconds
        time_limit = min(float(request.get("time_limit_seconds", 10.0)), limit)  # type: ignore[arg-type]
        request = {**request, "time_limit_seconds": time_limit}
        payload = json.dumps({"book": book.model_dump(mode="json", exclude_unset=True), "request": request})
        result, error, kind = call_in_child(
            TARGET, payload, hard_deadline=time_limit * 4 + self.settings.job_hard_deadline_grace_seconds + 10
        )
        if result is not None:
            return result.encode()
        if kind == "book":
            raise BookError(error or "the book cannot be analysed")
        raise SolveFailed(f"the hiring-gap report failed: {error}")
