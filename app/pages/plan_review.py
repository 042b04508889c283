"""One plan's pages: its review (moves, before/after load, fairness, handoffs, what blocks approval), the
progress it polls while solving, and the confirm pages and forms that approve or discard it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from app.errors import BookError, Conflict, NotFound
from app.models import AuditEvent, PlanJob
from app.pages import deciding, fairness_views, handoff_views, views
from app.pages.common import (
    ACTIVE,
    MOVES_SHOWN,
    OPS,
    PLAN_READERS,
    _db,
    _error_page,
    _not_found,
    _stored_book,
    _text,
    guard,
    guard_post,
    posted,
    render,
)
from app.pages.session import PageSession, read_session
from app.services import book as book_service
from app.services import plans as plan_service
from app.services.snapshots import solved_book
from solver.schema import Book, Plan, Policy

router = APIRouter(include_in_schema=False)


def _job(request: Request, plan_id: str) -> tuple[dict[str, Any], PlanJob] | None:
    with _db(request).session() as session:
        row = session.get(PlanJob, plan_id)
        if row is None:
            return None
        data = json.loads(plan_service.plan_job_json(session, plan_id))
        session.expunge(row)
    return data, row


def _plan_or_not_found(
    request: Request, page: PageSession, plan_id: str
) -> tuple[dict[str, Any], PlanJob] | HTMLResponse:
    """`_job`, or the 404 page every plan page shows for an unknown plan id."""
    found = _job(request, plan_id)
    return _not_found(request, page, f"No plan {plan_id!r}.") if found is None else found


def _discarded(request: Request, plan_id: str) -> AuditEvent | None:
    with _db(request).session() as session:
        event = session.execute(
            select(AuditEvent)
            .where(AuditEvent.plan_id == plan_id, AuditEvent.action == "plan_discarded")  # type: ignore[arg-type]
            .limit(1)
        ).scalar_one_or_none()
        if event is not None:
            session.expunge(event)
    return event


def _awaiting_decision(request: Request, data: dict[str, Any], row: PlanJob) -> bool:
    """A finished plan nobody has approved or discarded yet. The confirm page offers to discard exactly
    these (besides running ones), so it and the discard itself must agree on the rule."""
    return data["status"] == "succeeded" and row.approved_at is None and _discarded(request, row.id) is None


def _staleness(request: Request, row: PlanJob) -> str | None:
    """Why the plan can no longer be approved because the book moved on (as approve would say), or None."""
    current, revision = _stored_book(request)
    if row.source == "stored" and row.book_revision == revision:
        return None
    with _db(request).session() as session:
        # A re-plan: judged on the book before its vetoes.
        solved = Book.model_validate_json(row.base_book) if row.base_book else solved_book(session, row.id)
    baseline = solved.model_copy(update={"policy": Policy.model_validate(row.base_policy or {})})
    changes = book_service.book_changes(baseline, current)
    if not changes:
        return None
    since = (
        f"revision {row.book_revision} → {revision}" if row.book_revision is not None else "the inline book"
    )
    what = (
        "The stored book changed since this plan"
        if row.source == "stored"
        else "The stored book differs from this plan's inline book"
    )
    return f"{what} ({since}): {book_service.describe_changes(changes)}. Start a new plan."


def _blocker(request: Request, data: dict[str, Any], row: PlanJob) -> str | None:
    """Why approve is not possible now, in words, or None when it is."""
    if row.approved_at is not None:
        return f"Approved by {row.approved_by} on {views.when(row.approved_at)}."
    discarded = _discarded(request, row.id)
    if discarded is not None:
        return f"Discarded by {discarded.actor} on {views.when(discarded.at)}."
    if data["status"] != "succeeded":
        return None
    if data.get("plan_status") not in plan_service.APPROVABLE:
        return f"The solve ended {data.get('plan_status')}: there is no valid assignment to apply."
    if row.scenario is not None or row.source != "stored":
        return "This plan is a scenario (a what-if): it can be read and compared, never approved."
    return _staleness(request, row)


def _review_context(
    request: Request, data: dict[str, Any], row: PlanJob, query: dict[str, str]
) -> dict[str, Any]:
    plan = Plan.model_validate(data["plan"])
    with _db(request).session() as session:
        book = solved_book(session, row.id)
    before = [c for c in views.csm_views(book) if not c.left or c.accounts]
    after = {load.csm: load.model_dump() for load in plan.csm_loads}
    moves = views.move_views(plan, book)
    shown = views.filter_moves(moves, query.get("csm"), query.get("tier"), query.get("region"))
    accounts = {a.id: a for a in book.accounts}
    unassigned = [
        {
            "id": u.account,
            "name": (accounts[u.account].name if u.account in accounts else None) or u.account,
            "tier": accounts[u.account].tier if u.account in accounts else "",
            "reason": u.reason,
        }
        for u in plan.unassigned
    ]
    moved = {m.account for m in plan.moves}
    names = {c.id: c.name or c.id for c in book.csms}
    # Accounts without a CSM today that the plan gives one but does not list as moves: approval applies
    # moves only, so the page says so rather than promising what approving will not do.
    new_assignments = [
        {
            "id": a.account,
            "name": accounts[a.account].name or a.account,
            "tier": accounts[a.account].tier,
            "to": names.get(a.csm, a.csm),
        }
        for a in plan.assignments
        if a.account in accounts and accounts[a.account].current_csm is None and a.account not in moved
    ]
    return {
        "plan": plan,
        "calendar": handoff_views.handoff_calendar(plan, book),
        "changed_csms": handoff_views.changed_csms(plan, book),
        "segment_policy": book.policy,
        "new_assignments": new_assignments,
        "before": before,
        "after": after,
        "chart": views.before_after_chart(before, after, book.policy.capacity_hours),
        "arr_chart": fairness_views.arr_chart(plan, book),
        "fairness": fairness_views.plan_fairness_rows(plan),
        "moves": shown[:MOVES_SHOWN],
        "moves_matching": len(shown),
        "moves_total": len(moves),
        "moved_arr": sum(m.arr for m in moves),
        "unassigned": unassigned,
        "filters": query,
        "csm_choices": views.csm_options(book),
        "tiers": sorted({m.tier for m in moves}),
        "regions": sorted({m.region or "" for m in moves}),
        "before_max": max((c.utilization for c in before if c.capacity > 0), default=None),
    }


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request, plan_id: str, csm: str = "", tier: str = "", region: str = "", error: str = ""
) -> Response:
    page = guard(request, PLAN_READERS, "plans")
    if isinstance(page, Response):
        return page
    found = _plan_or_not_found(request, page, plan_id)
    if isinstance(found, Response):
        return found
    data, row = found
    context: dict[str, Any] = {
        "session": page,
        "job": data,
        "blocker": _blocker(request, data, row),
        "error": error,
        "review": None,
    }
    if data["status"] == "succeeded" and data.get("plan") is not None:
        query = {"csm": csm, "tier": tier, "region": region}
        context["review"] = _review_context(request, data, row, query)
        context["segment_policy"] = context["review"]["segment_policy"]
        context["changes"] = deciding.parent_changes(_db(request), row, data["plan"])
    context["frontier"] = deciding.frontier_chart(data.get("frontier") or [])
    return render(request, "plan.html", context)


@router.get("/plans/{plan_id}/progress")
def plan_progress(request: Request, plan_id: str) -> Response:
    """What the progress page polls (JSON, the page's own shape; the API has `GET /v1/plans/{id}`)."""
    page = read_session(request)
    if page is None or page.principal.scopes.isdisjoint(PLAN_READERS):
        return JSONResponse({"message": "sign in with an ops or scheduler key"}, status_code=401)
    found = _job(request, plan_id)
    if found is None:
        return JSONResponse({"message": f"no plan {plan_id!r}"}, status_code=404)
    data, _row = found
    return JSONResponse(
        {
            "status": data["status"],
            "progress": data.get("progress"),
            "elapsed_seconds": data.get("elapsed_seconds"),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/plans/{plan_id}/{action}")
def confirm_page(request: Request, plan_id: str, action: str) -> Response:
    if action not in ("approve", "discard"):
        return Response(status_code=404)
    page = guard(request, OPS, f"to {action} a plan")
    if isinstance(page, Response):
        return page
    found = _plan_or_not_found(request, page, plan_id)
    if isinstance(found, Response):
        return found
    data, row = found
    blocker = _blocker(request, data, row)
    if action == "approve" and data["status"] != "succeeded":
        blocker = blocker or f"The plan is {data['status']}: only a finished plan can be approved."
    moves = len((data.get("plan") or {}).get("moves", []))
    can_discard = data["status"] in ACTIVE or _awaiting_decision(request, data, row)
    return render(
        request,
        "confirm.html",
        {
            "session": page,
            "job": data,
            "action": action,
            "blocker": blocker,
            "moves": moves,
            "values": {"note": ""},
            "errors": {},
            "can_discard": can_discard,
        },
    )


@router.post("/plans/{plan_id}/approve")
async def approve(request: Request, plan_id: str) -> Response:
    return await posted(request, _approve, plan_id)


def _approve(request: Request, form: Any, plan_id: str) -> Response:
    page = guard_post(request, form, OPS, "approving a plan")
    if isinstance(page, Response):
        return page
    note = _text(form, "note")
    found = _plan_or_not_found(request, page, plan_id)
    if isinstance(found, Response):
        return found
    data, row = found
    blocker = _blocker(request, data, row)
    errors = {"note": f"At most 1,000 characters (this one has {len(note):,})."} if len(note) > 1000 else {}
    if blocker is None and not errors:
        try:
            plan_service.approve_plan(_db(request), plan_id, page.principal, note or None)
        except (Conflict, NotFound, BookError) as exc:
            blocker = exc.message
        else:
            return RedirectResponse(f"/?approved={plan_id}", status_code=303)
    moves = len((data.get("plan") or {}).get("moves", []))
    return render(
        request,
        "confirm.html",
        {
            "session": page,
            "job": data,
            "action": "approve",
            "blocker": blocker,
            "moves": moves,
            "values": {"note": note},
            "errors": errors,
        },
        status_code=409 if blocker else 200,
    )


@router.post("/plans/{plan_id}/discard")
async def discard(request: Request, plan_id: str) -> Response:
    return await posted(request, _discard, plan_id)


def _discard(request: Request, form: Any, plan_id: str) -> Response:
    page = guard_post(request, form, OPS, "discarding a plan")
    if isinstance(page, Response):
        return page
    found = _plan_or_not_found(request, page, plan_id)
    if isinstance(found, Response):
        return found
    data, row = found
    db = _db(request)
    try:
        if data["status"] in ACTIVE:
            plan_service.cancel_plan_job(db, request.app.state.runner, plan_id, page.principal)
        elif _awaiting_decision(request, data, row):
            # A finished plan has nothing to stop: discarding it records the decision, and the pages stop
            # offering it for approval.
            with db.writing() as session:
                session.add(
                    AuditEvent(
                        actor=page.principal.name,
                        actor_key_id=page.principal.key_id,
                        action="plan_discarded",
                        plan_id=plan_id,
                    )
                )
        else:
            raise Conflict(f"plan {plan_id!r} is {data['status']}: nothing to discard")
    except (Conflict, NotFound) as exc:
        return _error_page(request, page, exc, 409)
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)
