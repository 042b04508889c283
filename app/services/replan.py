"""Vetoes that re-plan: a new plan job on a plan's book in which each rejected account stays with its current
CSM (pinned), each kept move stays as the plan had it (the account may go to no other CSM), and the engine
re-optimises the rest. The new job names its `parent`; its review shows what changed against the parent."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError, Conflict, NotFound
from app.models import PlanCreated, PlanJob, PlanMove, ReplanRequest
from app.runner.base import JobRunner
from app.services.keys import Principal
from app.services.plan_policy import time_limit_for
from app.services.plans import input_sha256, plan_url
from app.services.snapshots import solved_book
from solver import policy as rules
from solver.schema import Book, Pair

_MOVES = PlanMove.__table__  # type: ignore[attr-defined]


def vetoed_book(book: Book, moves: dict[str, str], reject: list[str], keep: list[str]) -> Book:
    """The book with each rejected account pinned to its current CSM and each kept account barred from every
    CSM but the one the plan moved it to."""
    rejected, kept = set(reject), {a: moves[a] for a in keep}
    accounts = [a.model_copy(update={"pinned": True}) if a.id in rejected else a for a in book.accounts]
    pairs: list[Pair] = []
    for pair in book.pairs:
        barred = pair.account in kept and pair.csm != kept[pair.account]
        pairs.append(pair.model_copy(update={"allowed": False}) if barred else pair)
    listed = {(p.account, p.csm) for p in book.pairs}
    for account, target in kept.items():
        pairs.extend(
            Pair(account=account, csm=c.id, allowed=False)
            for c in book.csms
            if c.id != target and (account, c.id) not in listed
        )
    return book.model_copy(update={"accounts": accounts, "pairs": pairs})


def check_vetoes(plan_id: str, moves: dict[str, str], request: ReplanRequest) -> None:
    """Every account in `reject` and `keep` is a move of the plan, and none is in both (bad input, 422)."""
    for field in ("reject", "keep"):
        unknown = sorted({a for a in getattr(request, field) if a not in moves})
        if unknown:
            raise BookError(
                f"{field}: not moves of plan {plan_id}: {', '.join(unknown[:20])}",
                field=field,
                value=unknown[:20],
            )
    both = sorted(set(request.reject) & set(request.keep))
    if both:
        raise BookError(f"reject and keep both name: {', '.join(both[:20])}", field="keep", value=both[:20])
    if not request.reject and not request.keep:
        raise BookError("reject, keep: name at least one move to reject or keep", field="reject", value=[])


def check_rejections_can_stay(book: Book, reject: list[str]) -> None:
    """A rejected account must be one its current CSM may still serve (not one whose CSM has left, say):
    else the veto cannot be kept, and that is bad input naming the account and why."""
    accounts = {a.id: a for a in book.accounts}
    csms = {c.id: c for c in book.csms}
    pairs = rules.pairs_index(book)
    today = rules.as_of(book.policy)
    for account_id in reject:
        account = accounts[account_id]
        csm = csms.get(account.current_csm or "")
        problem = (
            "it has no CSM today"
            if csm is None
            else rules.eligibility_problem(
                account, csm, pairs.get((account.id, csm.id)), book.policy, today=today
            )
        )
        if problem is not None:
            raise BookError(
                f"reject: {account_id} cannot stay with {account.current_csm or 'its CSM'}: {problem}",
                field="reject",
                value=account_id,
            )


def replan(
    db: Database,
    runner: JobRunner,
    settings: Settings,
    plan_id: str,
    request: ReplanRequest,
    principal: Principal,
) -> PlanCreated:
    """Queue the re-plan of `plan_id` around the request's vetoes (202 as POST /v1/plans)."""
    with db.session() as session:
        parent = session.execute(
            select(PlanJob).where(PlanJob.id == plan_id)  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if parent is None:
            raise NotFound(f"plan {plan_id!r} does not exist", field="plan_id", value=plan_id)
        if parent.status != "succeeded" or parent.plan is None:
            raise Conflict(
                f"plan {plan_id!r} is {parent.status}: only a finished plan can be re-planned",
                field="plan_id",
                value=plan_id,
            )
        rows = session.execute(
            select(_MOVES.c.account, _MOVES.c.to_csm).where(_MOVES.c.plan_id == plan_id)
        ).all()
        moves = {r.account: r.to_csm for r in rows}
        check_vetoes(plan_id, moves, request)
        book = solved_book(session, plan_id)
        job = PlanJob(
            id=uuid.uuid4().hex,
            status="queued",
            source=parent.source,
            requested_by=principal.name,
            book_revision=parent.book_revision,
            time_limit_seconds=time_limit_for(book, settings),
            input_sha256="",
            input_book="",
            base_book=parent.base_book or book.model_dump_json(by_alias=True, exclude_unset=True),
            base_policy=parent.base_policy,
            policy_overrides=parent.policy_overrides,
            accounts=parent.accounts,
            csms=parent.csms,
            kind="plan",
            parent=plan_id,
            scenario=parent.scenario,
            note=_note(request),
        )
    check_rejections_can_stay(book, request.reject)
    solved = vetoed_book(book, moves, request.reject, request.keep)
    job.input_book = solved.model_dump_json(by_alias=True, exclude_unset=True)
    job.input_sha256 = input_sha256(solved)
    with db.writing() as session:
        session.add(job)
        session.flush()
        defer_in = getattr(runner, "defer_in", None)
        if defer_in is not None:
            defer_in(session, job.id)
    runner.enqueue(job.id)
    return PlanCreated(id=job.id, status="queued", url=plan_url(job.id))


def _note(request: ReplanRequest) -> str:
    parts = [f"rejected: {', '.join(request.reject)}"] if request.reject else []
    if request.keep:
        parts.append(f"kept: {', '.join(request.keep)}")
    if request.note:
        parts.append(request.note)
    return "; ".join(parts)[:4000]


def changes_against_parent(parent_moves: list[Any], moves: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """What a re-plan changed against its parent: moves dropped, moves added, moves sent elsewhere."""
    before = {m["account"]: m for m in parent_moves}
    after = {m["account"]: m for m in moves}
    return {
        "dropped": [before[a] for a in before if a not in after],
        "added": [after[a] for a in after if a not in before],
        "redirected": [
            {**after[a], "parent_to": before[a]["to"]}
            for a in after
            if a in before and after[a]["to"] != before[a]["to"]
        ],
    }
