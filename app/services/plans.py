"""Plan jobs: start one (idempotently), read it, list them, cancel it, approve it onto the stored book."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError, Conflict, Forbidden, NotFound, Stale, TooManyJobs
from app.models import (
    AccountRow,
    ApiKey,
    ApprovalResult,
    AuditEvent,
    BookState,
    IdempotencyKey,
    PlanCreated,
    PlanJob,
    PlanJobList,
    PlanJobSummary,
    PlanMove,
    PlanRequest,
    utcnow,
)
from app.runner.base import JobRunner
from app.services.book import book_changes, describe_changes, load_book, lock_book, read_state
from app.services.keys import Principal
from app.services.partial import check_partial_book, choose_moves, partial_detail, refuse_scenario
from app.services.plan_policy import (
    apply_overrides,
    check_solve_limits,
    time_limit_for,
    with_service_defaults,
)
from app.services.scenario import apply_scenario, scenario_record
from app.services.snapshots import job_policy, solved_book, store_book_snapshot
from solver.schema import Book, Policy

_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_ACCOUNTS = AccountRow.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_IDEMPOTENCY = IdempotencyKey.__table__  # type: ignore[attr-defined]
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]
APPROVABLE = ("optimal", "feasible")
SUMMARY_FIELDS = tuple(f for f in PlanJobSummary.model_fields if f not in ("url", "elapsed_seconds"))


def plan_url(job_id: str) -> str:
    return f"/v1/plans/{job_id}"


def input_sha256(book: Book) -> str:
    from solver.engine import input_sha256 as engine_hash

    return str(engine_hash(book))


def body_sha256(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def check_job_quota(session: Session, principal: Principal, settings: Settings) -> None:
    """One key holds at most `max_active_jobs_per_key` queued or running jobs (429 beyond): a runaway
    script cannot fill the queue for everyone. The key's row is locked so parallel starts count in turn."""
    limit = settings.max_active_jobs_per_key
    if limit == 0 or principal.key_id <= 0:
        return
    keys = ApiKey.__table__  # type: ignore[attr-defined]
    session.execute(select(keys.c.id).where(keys.c.id == principal.key_id).with_for_update())
    active = session.execute(
        select(func.count())
        .select_from(_JOBS)
        .where(_JOBS.c.requested_by_key_id == principal.key_id, _JOBS.c.status.in_(("queued", "running")))
    ).scalar_one()
    if active >= limit:
        raise TooManyJobs(
            f"key {principal.name!r} already has {active} plan jobs queued or running (the limit is {limit}): "
            "wait for one to finish or cancel one",
            field="Authorization",
            value=active,
        )


def stored_book_snapshot(db: Database) -> tuple[Book, int]:
    """The stored book and the revision it is at; retried if a writer slips in between the reads."""
    for _ in range(5):
        with db.session() as session:
            book, revision = load_book(session)
            again = read_state(session).revision
        if again == revision:
            return book, revision
    raise Conflict("the stored book kept changing while it was read; retry")


# ---------------------------------------------------------------- idempotency


def existing_idempotency_key(
    session: Session, key_id: int, route: str, key: str, digest: str
) -> IdempotencyKey | None:
    """The earlier request of this API key with this Idempotency-Key (another API key's is not it)."""
    row = session.execute(
        select(IdempotencyKey).where(
            IdempotencyKey.key_id == key_id,  # type: ignore[arg-type]
            IdempotencyKey.route == route,  # type: ignore[arg-type]
            IdempotencyKey.key == key,  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()
    if row is not None and row.body_sha256 != digest:
        raise BookError(
            f"Idempotency-Key: {key!r} was already used on {route} with a different body "
            "(use a new key for a different request)",
            field="Idempotency-Key",
            value=key,
        )
    return row


# ---------------------------------------------------------------- create


def create_plan_job(
    db: Database,
    runner: JobRunner,
    settings: Settings,
    request: PlanRequest,
    principal: Principal,
    idempotency_key: str | None,
    in_transaction: Callable[[Session, str], None] | None = None,
) -> tuple[PlanCreated, bool]:
    """Queue a plan job; returns it and whether it is new (False: the idempotency key named an old one).
    `in_transaction(session, job_id)` writes more rows in the job's transaction (a scheduled period)."""
    route = "POST /v1/plans"
    digest = body_sha256(request.model_dump(mode="json", exclude_unset=True))
    if idempotency_key is not None:
        with db.session() as session:
            existing = existing_idempotency_key(session, principal.key_id, route, idempotency_key, digest)
        if existing is not None and existing.job_id is not None:
            return _created(session_job_status(db, existing.job_id), existing.job_id), False

    overrides = request.policy.model_dump(mode="json", exclude_unset=True) if request.policy else {}
    if request.book is not None:
        base, revision, source = request.book, None, "inline"
    else:
        base, revision = stored_book_snapshot(db)
        source = "stored"
    if request.scenario is not None:
        base = apply_scenario(base, request.scenario)
    if not base.accounts:
        raise BookError(
            "accounts: the book has no accounts to plan"
            + (" (PUT /v1/book first)" if source == "stored" else ""),
            field="accounts",
            value=[],
        )
    book = with_service_defaults(apply_overrides(base, overrides), settings)
    check_solve_limits(book, settings)
    job = PlanJob(
        id=uuid.uuid4().hex,
        status="queued",
        source=source,
        requested_by=principal.name,
        requested_by_key_id=principal.key_id,
        book_revision=revision,
        input_sha256=input_sha256(book),
        time_limit_seconds=time_limit_for(book, settings),
        input_policy=job_policy(book),
        base_policy=base.policy.model_dump(mode="json", exclude_unset=True),
        policy_overrides=overrides or None,
        accounts=len(book.accounts),
        csms=len(book.csms),
        kind="frontier" if request.frontier else "plan",
        scenario=scenario_record(request.scenario) if request.scenario is not None else None,
        note=request.note,
    )
    try:
        with db.writing() as session:
            if idempotency_key is not None:
                existing = existing_idempotency_key(session, principal.key_id, route, idempotency_key, digest)
                if existing is not None and existing.job_id is not None:
                    return _created(session_job_status(db, existing.job_id), existing.job_id), False
                session.add(
                    IdempotencyKey(
                        key_id=principal.key_id,
                        route=route,
                        key=idempotency_key,
                        body_sha256=digest,
                        job_id=job.id,
                    )
                )
                session.flush()  # the unique constraint speaks here, before the job is written
            check_job_quota(session, principal, settings)
            job.book_sha256 = store_book_snapshot(session, base)
            session.add(job)
            session.flush()
            if in_transaction is not None:
                in_transaction(session, job.id)
            # A distributed runner queues the job in this same transaction (app/runner/distributed.py).
            defer_in = getattr(runner, "defer_in", None)
            if defer_in is not None:
                defer_in(session, job.id)
    except IntegrityError:
        # Another request with the same key committed first (PostgreSQL; SQLite queues the writers instead).
        with db.session() as session:
            existing = existing_idempotency_key(
                session, principal.key_id, route, idempotency_key or "", digest
            )
        if existing is None or existing.job_id is None:
            raise
        return _created(session_job_status(db, existing.job_id), existing.job_id), False
    runner.enqueue(job.id)
    return _created("queued", job.id), True


def session_job_status(db: Database, job_id: str) -> str:
    with db.session() as session:
        status = session.execute(select(_JOBS.c.status).where(_JOBS.c.id == job_id)).scalar()
    return str(status or "queued")


def _created(status: str, job_id: str) -> PlanCreated:
    return PlanCreated(id=job_id, status=status, url=plan_url(job_id))  # type: ignore[arg-type]


# ---------------------------------------------------------------- read


def _elapsed(row: dict[str, Any]) -> float | None:
    started, finished = row.get("started_at"), row.get("finished_at")
    if started is None:
        return None
    started = _aware(started)
    end = _aware(finished) if finished is not None else utcnow()
    return round(max(0.0, (end - started).total_seconds()), 3)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _summary_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = {f: row[f] for f in SUMMARY_FIELDS}
    for key in ("created_at", "started_at", "finished_at", "approved_at"):
        if out[key] is not None:
            out[key] = _aware(out[key]).isoformat().replace("+00:00", "Z")
    out["url"] = plan_url(row["id"])
    out["elapsed_seconds"] = _elapsed(row)
    return out


def plan_job_json(session: Session | Connection, job_id: str) -> bytes:
    """The job as JSON bytes, with the stored plan text spliced in as is (no parse, no re-serialise): on a
    20,000-account plan that is the difference between a millisecond and a tenth of a second."""
    columns = [_JOBS.c[f] for f in SUMMARY_FIELDS] + [
        _JOBS.c.progress,
        _JOBS.c.policy_overrides,
        _JOBS.c.frontier,
        _JOBS.c.plan,
    ]
    row = session.execute(select(*columns).where(_JOBS.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"plan {job_id!r} does not exist", field="plan_id", value=job_id)
    data = dict(row._mapping)
    out = _summary_dict(data)
    progress = data["progress"]
    if progress is not None:
        progress = {**progress}
        if data["status"] == "running":
            progress["elapsed_seconds"] = out["elapsed_seconds"] or 0.0
        progress.setdefault("elapsed_seconds", out["elapsed_seconds"] or 0.0)
    elif data["status"] == "running":
        progress = {"elapsed_seconds": out["elapsed_seconds"] or 0.0, "phase": "starting"}
    out["progress"] = progress
    out["policy_overrides"] = data["policy_overrides"]
    out["frontier"] = data["frontier"]
    head = json.dumps(out, separators=(",", ":"))
    plan_text = data["plan"] if data["plan"] is not None else "null"
    return (head[:-1] + ',"plan":' + plan_text + "}").encode()


# A running job's progress is written every half second: a quarter-second cache loses nothing.
JOB_READ_TTL_SECONDS = 0.25


async def plan_job_json_cached(db: Database, job_id: str) -> bytes:
    """`plan_job_json` through `Database.cached_read_async`: one primary-key read per job per quarter
    second at most, since followers poll this route hard."""

    def load() -> bytes:
        with db.engine.connect() as conn:
            return plan_job_json(conn, job_id)

    data: bytes = await db.cached_read_async(("plan_job", job_id), JOB_READ_TTL_SECONDS, load)
    return data


def list_plan_jobs(session: Session, limit: int, offset: int, status: str | None) -> PlanJobList:
    where = [] if status is None else [_JOBS.c.status == status]
    total = session.execute(select(func.count()).select_from(_JOBS).where(*where)).scalar_one()
    rows = session.execute(
        select(*[_JOBS.c[f] for f in SUMMARY_FIELDS])
        .where(*where)
        .order_by(_JOBS.c.created_at.desc(), _JOBS.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [PlanJobSummary.model_validate(_summary_dict(dict(r._mapping))) for r in rows]
    return PlanJobList(items=items, total=int(total), limit=limit, offset=offset)


# ---------------------------------------------------------------- cancel


def cancel_plan_job(db: Database, runner: JobRunner, job_id: str, principal: Principal) -> None:
    with db.writing() as session:
        row = session.execute(
            select(_JOBS.c.status, _JOBS.c.requested_by_key_id).where(_JOBS.c.id == job_id)
        ).first()
        if row is None:
            raise NotFound(f"plan {job_id!r} does not exist", field="plan_id", value=job_id)
        status, owner = row
        if "ops" not in principal.scopes and owner != principal.key_id:
            raise Forbidden(
                f"Authorization: key {principal.name!r} may cancel only the plan jobs it started; "
                f"plan {job_id!r} was started by another key",
                field="Authorization",
            )
        if status in ("succeeded", "failed", "cancelled"):
            raise Conflict(
                f"plan {job_id!r} has already {_past(status)}: nothing to cancel",
                field="plan_id",
                value=job_id,
            )
        session.execute(
            update(_JOBS)
            .where(_JOBS.c.id == job_id, _JOBS.c.status.in_(("queued", "running")))
            .values(
                status="cancelled",
                cancel_requested=True,
                finished_at=utcnow(),
                error=f"cancelled by {principal.name}",
            )
        )
        session.add(
            AuditEvent(
                actor=principal.name, actor_key_id=principal.key_id, action="plan_cancelled", plan_id=job_id
            )
        )
    runner.cancel(job_id)


def _past(status: str) -> str:
    return {"succeeded": "succeeded", "failed": "failed", "cancelled": "been cancelled"}.get(status, status)


# ---------------------------------------------------------------- approve


def approve_plan(
    db: Database, job_id: str, principal: Principal, note: str | None, selected: list[str] | None = None
) -> ApprovalResult:
    """Apply the plan's moves (or only the `selected` ones) to the stored book in one transaction, one
    audit event per move.

    A plan computed on a book that has changed since is stale (409 naming what changed); a scenario is never
    applied; a partial approval whose book breaks a hard rule is refused; in each case nothing is applied.
    """
    with db.writing() as session:
        # The book's lock first, as every book write takes it (`lock_book`): one lock order, no deadlock.
        current_revision = lock_book(session)
        job = _approvable_job(session, job_id)
        revision = current_revision + 1
        if job.source != "stored" or job.book_revision != current_revision:
            _check_not_stale(session, job)
        now = utcnow()
        moves = session.execute(select(_MOVES).where(_MOVES.c.plan_id == job_id).order_by(_MOVES.c.seq)).all()
        left: list[Any] = []
        if selected is not None:
            moves, left = choose_moves(job_id, moves, selected)
            check_partial_book(session, job_id, moves)
        _apply_moves(session, moves)
        assigned = [] if left else _apply_first_csms(session, job)
        session.execute(
            update(BookState)
            .where(BookState.id == 1)  # type: ignore[arg-type]
            .values(revision=revision, updated_at=now, updated_by=principal.name)
        )
        event = _ApprovalEvent(principal, job_id, revision, now)
        events = [
            event.row(
                "account_moved", m.account, m.from_csm, m.to_csm, m.reason, {"arr": m.arr, "hours": m.hours}
            )
            for m in moves
        ]
        events.extend(
            event.row("account_assigned", account, None, csm, "new account: first CSM", {})
            for account, csm in assigned
        )
        summary = {
            "moves": len(moves),
            **partial_detail(moves, left, selected is not None),
            "new_assignments": len(assigned),
            "plan_status": job.plan_status,
            "input_sha256": job.input_sha256,
        }
        events.append(event.row("plan_approved", None, None, None, note, summary))
        for start in range(0, len(events), 5_000):
            session.execute(insert(_AUDIT), events[start : start + 5_000])
        session.execute(
            update(_JOBS).where(_JOBS.c.id == job_id).values(approved_at=now, approved_by=principal.name)
        )
    return ApprovalResult(
        plan_id=job_id,
        applied_moves=len(moves),
        left_moves=len(left),
        applied_assignments=len(assigned),
        book_revision=revision,
        approved_by=principal.name,
        approved_at=now,
    )


def _approvable_job(session: Session, job_id: str) -> PlanJob:
    """The plan job, locked, when it may be approved: it exists, succeeded with a valid assignment, is not
    a scenario, and was neither approved nor discarded before (409 otherwise)."""
    job = session.execute(
        select(PlanJob).where(PlanJob.id == job_id).with_for_update()  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if job is None:
        raise NotFound(f"plan {job_id!r} does not exist", field="plan_id", value=job_id)
    if job.approved_at is not None:
        raise Conflict(
            f"plan {job_id!r} was already approved by {job.approved_by} at {_aware(job.approved_at).isoformat()}",
            field="plan_id",
            value=job_id,
        )
    if job.status != "succeeded" or job.plan is None:
        raise Conflict(
            f"plan {job_id!r} is {job.status}: only a succeeded plan can be approved",
            field="plan_id",
            value=job_id,
        )
    if job.plan_status not in APPROVABLE:
        raise Conflict(
            f"plan {job_id!r} is {job.plan_status}: there is no valid assignment to apply",
            field="plan_id",
            value=job_id,
        )
    refuse_scenario(job)
    discarded = session.execute(
        select(_AUDIT.c.actor, _AUDIT.c.at).where(
            _AUDIT.c.plan_id == job_id, _AUDIT.c.action == "plan_discarded"
        )
    ).first()
    if discarded is not None:
        raise Conflict(
            f"plan {job_id!r} was discarded by {discarded.actor} at {_aware(discarded.at).isoformat()}",
            field="plan_id",
            value=job_id,
        )
    return job


def _apply_moves(session: Session, moves: Sequence[Any]) -> None:
    """Each moved account gets its new CSM and records who had it and the day the new CSM takes over."""
    if not moves:
        return
    session.execute(
        update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id == bindparam("b_account"))
        .values(
            current_csm=bindparam("b_to"), previous_csm=bindparam("b_from"), handoff_on=bindparam("b_on")
        ),
        [
            {"b_account": m.account, "b_to": m.to_csm, "b_from": m.from_csm, "b_on": m.handoff_on}
            for m in moves
        ],
    )


def _apply_first_csms(session: Session, job: PlanJob) -> list[tuple[str, str]]:
    """Accounts with no CSM yet are not moves, but the plan gives them one: apply those too."""
    planned = {a["account"]: a["csm"] for a in json.loads(job.plan or "{}").get("assignments", [])}
    unowned = session.execute(select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.current_csm.is_(None))).scalars().all()
    assigned = [(account, planned[account]) for account in unowned if account in planned]
    if assigned:
        session.execute(
            update(_ACCOUNTS)
            .where(_ACCOUNTS.c.id == bindparam("b_account"))
            .values(current_csm=bindparam("b_to")),
            [{"b_account": account, "b_to": csm} for account, csm in assigned],
        )
    return assigned


@dataclass(frozen=True)
class _ApprovalEvent:
    """The audit rows of one approval: who, which plan, the book revision it made, when."""

    principal: Principal
    plan_id: str
    revision: int
    at: dt.datetime

    def row(
        self,
        action: str,
        account: str | None,
        from_csm: str | None,
        to_csm: str | None,
        reason: str | None,
        detail: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.principal.name,
            "actor_key_id": self.principal.key_id,
            "action": action,
            "plan_id": self.plan_id,
            "account": account,
            "from_csm": from_csm,
            "to_csm": to_csm,
            "reason": reason,
            "book_revision": self.revision,
            "detail": detail,
        }


def _check_not_stale(session: Session, job: PlanJob) -> None:
    # A re-plan solved its parent's book with the vetoes pinned: staleness is judged on the book before them.
    solved = Book.model_validate_json(job.base_book) if job.base_book else solved_book(session, job.id)
    baseline = solved.model_copy(update={"policy": Policy.model_validate(job.base_policy or {})})
    current, revision = load_book(session)
    changes = book_changes(baseline, current)
    if changes:
        since = (
            f"revision {job.book_revision} → {revision}"
            if job.book_revision is not None
            else "the inline book"
        )
        what = (
            "the stored book changed since the plan"
            if job.source == "stored"
            else "the stored book differs from the plan's inline book"
        )
        raise Stale(f"{what} ({since}): {describe_changes(changes)}; plan again", changes=changes)
