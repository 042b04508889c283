"""Synchronous solves for small books: the child-process isolation of plan jobs, answered in the request."""

from __future__ import annotations

import threading

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError, Busy, Conflict, SolveFailed, TooLarge
from app.models import IdempotencyKey
from app.runner.child import run_to_completion
from app.services.plan_policy import check_solve_limits, time_limit_for, with_service_defaults
from app.services.plans import body_sha256, existing_idempotency_key
from solver.schema import Book

ROUTE = "POST /v1/solve"


class SyncSolver:
    """Runs at most `sync_solve_concurrency` synchronous solves at once; more get 503 at once, not a queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.sync_solve_concurrency)

    def solve(self, db: Database, book: Book, idempotency_key: str | None, key_id: int = 0) -> str:
        """Plan JSON text for `book`; with an idempotency key, a retry gets the first answer again."""
        limit = self.settings.sync_solve_max_accounts
        if len(book.accounts) > limit:
            raise TooLarge(
                f"accounts: {len(book.accounts):,} accounts is more than a synchronous solve takes "
                f"({limit:,}): "
                'start a plan job instead with POST /v1/plans {"book": ...} and poll GET /v1/plans/{id}',
                field="accounts",
                value=len(book.accounts),
            )
        check_solve_limits(book, self.settings)
        digest = body_sha256(book.model_dump(mode="json", exclude_unset=True))
        if idempotency_key is not None:
            try:
                with db.writing() as session:
                    existing = existing_idempotency_key(session, key_id, ROUTE, idempotency_key, digest)
                    if existing is None:
                        session.add(
                            IdempotencyKey(
                                key_id=key_id, route=ROUTE, key=idempotency_key, body_sha256=digest
                            )
                        )
            except IntegrityError:
                with db.session() as session:
                    existing = existing_idempotency_key(session, key_id, ROUTE, idempotency_key, digest)
            if existing is not None:
                if existing.response is None:
                    raise Conflict(
                        f"Idempotency-Key: a solve with key {idempotency_key!r} is still running; "
                        "retry shortly",
                        field="Idempotency-Key",
                        value=idempotency_key,
                    )
                return existing.response
        try:
            plan_json = self._solve(book)
        except BaseException:
            if idempotency_key is not None:  # let a retry with the same key try again
                self._forget(db, key_id, idempotency_key)
            raise
        if idempotency_key is not None:
            with db.writing() as session:
                session.execute(
                    update(IdempotencyKey)
                    .where(
                        IdempotencyKey.key_id == key_id,  # type: ignore[arg-type]
                        IdempotencyKey.route == ROUTE,  # type: ignore[arg-type]
                        IdempotencyKey.key == idempotency_key,  # type: ignore[arg-type]
                    )
                    .values(response=plan_json)
                )
        return plan_json

    def _solve(self, book: Book) -> str:
        if not self._slots.acquire(blocking=False):
            raise Busy(
                f"all {self.settings.sync_solve_concurrency} synchronous solve slots are busy: retry, "
                "or start a plan job with POST /v1/plans"
            )
        try:
            time_limit = min(time_limit_for(book, self.settings), self.settings.solve_time_limit_seconds)
            plan_json, error, kind = run_to_completion(
                self.settings.solve_function,
                with_service_defaults(book, self.settings).model_dump_json(by_alias=True, exclude_unset=True),
                time_limit,
                self.settings.cp_sat_workers,
                hard_deadline=time_limit + self.settings.job_hard_deadline_grace_seconds,
                grace_seconds=self.settings.cancel_grace_seconds,
            )
        finally:
            self._slots.release()
        if plan_json is not None:
            return plan_json
        if kind == "book":
            raise BookError(error or "the book cannot be planned")
        raise SolveFailed(f"the solve failed: {error}")

    @staticmethod
    def _forget(db: Database, key_id: int, key: str) -> None:
        from sqlalchemy import delete

        with db.writing() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.key_id == key_id,  # type: ignore[arg-type]
                    IdempotencyKey.route == ROUTE,  # type: ignore[arg-type]
                    IdempotencyKey.key == key,  # type: ignore[arg-type]
                    IdempotencyKey.response.is_(None),  # type: ignore[union-attr]
                )
            )
