"""Routing new accounts against the stored book: the prepared book cached per revision, and `assign: true`
writing the first candidates as a new revision with an audit event per account, idempotently."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import Database
from app.errors import BookError, Conflict, Forbidden
from app.models import AccountRow, AuditEvent, BookState, IdempotencyKey, utcnow
from app.models_routing import RecommendationRequest, RecommendationResponse, RoutedAccount
from app.services.book import account_row, current_revision
from app.services.keys import Principal
from app.services.plans import body_sha256, existing_idempotency_key, stored_book_snapshot
from solver.recommend import Recommendation, recommend
from solver.routing_book import RoutingBook, prepare_routing_book
from solver.routing_input import AccountInBook, new_accounts_from_data
from solver.schema import Account

ROUTE = "POST /v1/recommendations"
_ACCOUNTS = AccountRow.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]


class RoutingCache:
    """The stored book prepared for routing (every CSM's load, pools, parents), for one book revision.

    Keyed by the revision, which every change to the book bumps: a request at a newer revision rebuilds it,
    so a stale entry is never used, whatever the clock says."""

    def __init__(self) -> None:
        self._entry: tuple[int, RoutingBook] | None = None
        self._lock = threading.Lock()
        self.builds = 0  # how many times the book was prepared (tests and the bench read it)

    def for_revision(self, db: Database, revision: int) -> tuple[RoutingBook, int]:
        entry = self._entry
        if entry is not None and entry[0] == revision:
            return entry[1], entry[0]
        with self._lock:  # concurrent first requests wait for one preparation instead of each doing it
            entry = self._entry
            if entry is not None and entry[0] == revision:
                return entry[1], entry[0]
            book, read = stored_book_snapshot(db)
            routing = prepare_routing_book(book)
            self.builds += 1
            # The prepared book (a 20,000-account book is ~10^5 objects) lives until the next revision: kept
            # out of the cyclic collector's scans, a full collection no longer stalls every request behind
            # it. Freed by reference counting when replaced, as any other object.
            gc.collect()
            gc.freeze()
            if entry is None or read >= entry[0]:
                self._entry = (read, routing)
            return routing, read

    def current(self, db: Database) -> tuple[RoutingBook, int]:
        return self.for_revision(db, current_revision(db))

    def peek(self, revision: int) -> RoutingBook | None:
        """The prepared book if it is this revision's, else None (never stale)."""
        entry = self._entry
        return entry[1] if entry is not None and entry[0] == revision else None


# A request this small, on a prepared book, is answered on the event loop (well under a millisecond of
# work); anything larger, a cache miss or an assignment goes to the thread pool.
INLINE_ACCOUNTS = 20


async def recommendations_json(
    db: Database,
    cache: RoutingCache,
    request: RecommendationRequest,
    principal: Principal,
    idempotency_key: str | None,
) -> bytes:
    """`recommend_accounts` as JSON bytes, without a thread hop for small asks on a warm cache."""
    if not request.assign and len(request.accounts) <= INLINE_ACCOUNTS:
        # The revision is read on the loop (a dict hit, or one indexed single-row read every 0.5 s): under
        # CPU contention a thread hop for it cost more than the read, and every request queued behind it.
        revision = current_revision(db)
        routing = cache.peek(revision)
        if routing is not None:
            return _ask(routing, revision, request, time.perf_counter()).model_dump_json().encode()
    answer = await run_in_threadpool(recommend_accounts, db, cache, request, principal, idempotency_key)
    return answer.model_dump_json().encode()


def _ask(
    routing: RoutingBook, revision: int, request: RecommendationRequest, started: float
) -> RecommendationResponse:
    recs = recommend(routing, _accounts_of(routing, request), top=request.top)
    return RecommendationResponse(
        request=uuid.uuid4().hex,
        book_revision=revision,
        assigned=False,
        recommendations=recs,
        seconds=round(time.perf_counter() - started, 4),
    )


def _accounts_of(routing: RoutingBook, request: RecommendationRequest) -> list[Account]:
    """The request's accounts checked against the book: 409 for an id it has, 422 naming a bad field."""
    try:
        return new_accounts_from_data(routing, request.accounts)
    except AccountInBook as exc:
        raise Conflict(exc.message, field=exc.field, value=exc.value) from None


def recommend_accounts(
    db: Database,
    cache: RoutingCache,
    request: RecommendationRequest,
    principal: Principal,
    idempotency_key: str | None,
) -> RecommendationResponse:
    """Rank CSMs for each new account; with `assign`, write the first candidates into the stored book."""
    started = time.perf_counter()
    if request.assign and "ops" not in principal.scopes:
        raise Forbidden(
            f"assign: key {principal.name!r} may ask for recommendations but not write them into the book "
            "(assign: true needs the ops scope)",
            field="assign",
            value=True,
        )
    if request.assign:
        return _assign(db, cache, request, principal, idempotency_key, started)
    routing, revision = cache.current(db)
    return _ask(routing, revision, request, started)


def _assign(
    db: Database,
    cache: RoutingCache,
    request: RecommendationRequest,
    principal: Principal,
    idempotency_key: str | None,
    started: float,
) -> RecommendationResponse:
    """Route and write in one transaction holding the book's lock: the book routed against is the one
    written to, and a retry with the same Idempotency-Key gets the first answer without writing again."""
    digest = body_sha256(request.model_dump(mode="json", exclude_unset=True))
    if idempotency_key is not None:
        with db.session() as session:
            existing = existing_idempotency_key(session, principal.key_id, ROUTE, idempotency_key, digest)
        if existing is not None and existing.response is not None:
            return RecommendationResponse.model_validate_json(existing.response)
    try:
        with db.writing() as session:
            state = session.execute(
                select(BookState).where(BookState.id == 1).with_for_update()  # type: ignore[arg-type]
            ).scalar_one()
            if idempotency_key is not None:
                existing = existing_idempotency_key(session, principal.key_id, ROUTE, idempotency_key, digest)
                if existing is not None and existing.response is not None:
                    return RecommendationResponse.model_validate_json(existing.response)
            routing, revision = cache.for_revision(db, state.revision)
            if revision != state.revision:
                raise Conflict("the stored book changed while it was read; retry", field="book_revision")
            accounts = _accounts_of(routing, request)
            recs = recommend(routing, accounts, top=request.top)
            request_id = uuid.uuid4().hex
            written = _write_first_candidates(session, accounts, recs, principal, request_id, revision + 1)
            response = RecommendationResponse(
                request=request_id,
                book_revision=revision + 1 if written else revision,
                assigned=True,
                written=written,
                recommendations=recs,
                seconds=round(time.perf_counter() - started, 4),
            )
            if idempotency_key is not None:
                session.add(
                    IdempotencyKey(
                        key_id=principal.key_id,
                        route=ROUTE,
                        key=idempotency_key,
                        body_sha256=digest,
                        response=response.model_dump_json(),
                    )
                )
                session.flush()
    except IntegrityError:
        # Another request with the same key committed first: its answer is this one's.
        with db.session() as session:
            existing = existing_idempotency_key(
                session, principal.key_id, ROUTE, idempotency_key or "", digest
            )
        if existing is None or existing.response is None:
            raise
        return RecommendationResponse.model_validate_json(existing.response)
    return response


def _write_first_candidates(
    session: Session,
    accounts: list[Account],
    recs: list[Recommendation],
    principal: Principal,
    request_id: str,
    revision: int,
) -> list[RoutedAccount]:
    """Each account with a candidate joins the book with that CSM (one audit event each, naming the
    request); an account no CSM can take is not written."""
    first = {r.account: r.candidates[0] for r in recs if r.candidates}
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    written: list[RoutedAccount] = []
    position = (
        int(session.execute(select(func.coalesce(func.max(_ACCOUNTS.c.position), -1))).scalar_one()) + 1
    )
    now = utcnow()
    for account in accounts:
        choice = first.get(account.id)
        if choice is None:
            continue
        rows.append(account_row(account.model_copy(update={"current_csm": choice.csm}), position))
        position += 1
        written.append(RoutedAccount(account=account.id, csm=choice.csm))
        events.append(
            {
                "at": now,
                "actor": principal.name,
                "actor_key_id": principal.key_id,
                "action": "account_routed",
                "account": account.id,
                "to_csm": choice.csm,
                "reason": f"routed by recommendation request {request_id}: " + "; ".join(choice.reasons),
                "book_revision": revision,
                "detail": {
                    "request": request_id,
                    "utilization_after": choice.utilization_after,
                    "arr_after": choice.arr_after,
                    "after": account.model_dump(mode="json"),
                },
            }
        )
    if not rows:
        return []
    session.execute(insert(_ACCOUNTS), rows)
    session.execute(
        update(BookState)
        .where(BookState.id == 1)  # type: ignore[arg-type]
        .values(revision=revision, updated_at=now, updated_by=principal.name)
    )
    session.execute(insert(_AUDIT), events)
    return written


__all__ = ["ROUTE", "BookError", "RoutingCache", "recommend_accounts"]
