"""The pages for CS ops people: sign-in, the book, a CSM, plans (start, progress, review, approve or
discard), hiring gaps (+ CSV), history and the audit log. Server-rendered (Jinja2, inline SVG charts).

Pages call the services with a database session, never the HTTP API, and admit the same scopes as the
API: ops everything; hr the book summary and hiring gaps; scheduler plans (start and read). Every route is
left out of the OpenAPI document.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.core.db import Database
from app.errors import BookError, Conflict, DomainError, NotFound, SolveFailed
from app.models import AuditEvent, PlanJob, PlanRequest, PolicyOverrides, bounded_offset
from app.pages import deciding, fairness_views, handoff_views, views
from app.pages.session import (
    PageSession,
    clear_session_cookie,
    end_session,
    key_hash_of,
    login_form_token,
    login_post_allowed,
    read_session,
    set_session_cookie,
    signer,
)
from app.services import audit as audit_service
from app.services import book as book_service
from app.services import plans as plan_service
from app.services.csv_cells import neutralise
from app.services.keys import authenticate
from app.services.snapshots import solved_book
from solver.schema import Book, Plan, Policy

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
templates.env.filters.update(
    money=views.money,
    hours=views.hours,
    percent=views.percent,
    tier=views.tier_filter,
    when=views.when,
    segment=views.path_segment,
)

OPS = ("ops",)
BOOK_READERS = ("ops", "hr")
PLAN_READERS = ("ops", "scheduler")
ACTIVE = ("queued", "running")
PAGE_SIZE = 50
MOVES_SHOWN = 1000
# Pages load only their own stylesheet and script; no framing, so an approve button cannot be clickjacked.
# Inline style attributes stay allowed (chart axis labels are placed with them); inline scripts do not.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# ---------------------------------------------------------------- helpers


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `next` must not send a signed-in person elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page: PageSession | None = context.get("session")
    scopes = page.principal.scopes if page else frozenset()
    base = {
        "session": page,
        "can_ops": "ops" in scopes,
        "can_book": bool(scopes & set(BOOK_READERS)),
        "can_plans": bool(scopes & set(PLAN_READERS)),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    for key, value in extra.items():
        response.headers[key] = value
    return response


def _forbidden(request: Request, page: PageSession, scopes: tuple[str, ...], what: str) -> HTMLResponse:
    have = ", ".join(sorted(page.principal.scopes))
    message = f"Your key “{page.principal.name}” has scope {have}; {what} needs {' or '.join(scopes)}."
    return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)


def guard(request: Request, scopes: tuple[str, ...], what: str) -> PageSession | Response:
    """The signed-in session if it holds one of `scopes`; else a redirect to sign in, or a 403 page."""
    page = read_session(request)
    if page is None:
        return _login_redirect(request)
    if not page.principal.scopes.intersection(scopes):
        return _forbidden(request, page, scopes, what)
    return page


def guard_post(request: Request, form: Any, scopes: tuple[str, ...], what: str) -> PageSession | Response:
    """`guard` for a form that changes state: also checks the form's CSRF token."""
    page = guard(request, scopes, what)
    if isinstance(page, Response):
        return page
    token = form.get("csrf")
    if not signer(request).check_csrf(page.cookie, token if isinstance(token, str) else None):
        message = (
            "The form had expired or did not come from this site; nothing was changed. Reload and retry."
        )
        return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)
    return page


async def posted(request: Request, handler: Callable[..., Response], *args: Any) -> Response:
    """Reads the form, then runs `handler(request, form, *args)` in the thread pool: it queries the
    database, which must not block the event loop."""
    form = await request.form()
    return await run_in_threadpool(handler, request, form, *args)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _stored_book(request: Request) -> tuple[Book, int]:
    """The stored book, cached per revision: several pages read it and it rarely changes."""
    db = _db(request)
    revision = book_service.current_revision(db)
    cached = getattr(request.app.state, "page_book_cache", None)
    if cached is not None and cached[0] == revision:
        return cached[1], revision
    book, read_revision = plan_service.stored_book_snapshot(db)
    request.app.state.page_book_cache = (read_revision, book)
    return book, read_revision


def _error_page(
    request: Request, page: PageSession, exc: DomainError | BookError, status: int
) -> HTMLResponse:
    message = getattr(exc, "message", str(exc))
    return render(
        request, "forbidden.html", {"session": page, "message": message, "title": "Not possible"}, status
    )


def _not_found(request: Request, page: PageSession, message: str) -> HTMLResponse:
    return render(
        request,
        "forbidden.html",
        {"session": page, "title": "Not found", "message": message},
        status_code=404,
    )


# ---------------------------------------------------------------- sign-in


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    page = read_session(request)
    if page is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, {"next": _safe_next(next), "values": {}, "errors": {}})


def _login_page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    """The sign-in form, with its token (and the cookie it is bound to when the visitor has none)."""
    holder = Response()
    token = login_form_token(request, holder)
    response = render(request, "login.html", {**context, "login_token": token}, status_code=status_code)
    for name, value in holder.raw_headers:
        if name == b"set-cookie":
            response.raw_headers.append((name, value))
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    return await posted(request, _login)


def _login(request: Request, form: Any) -> Response:
    key = _text(form, "key")
    target = _safe_next(_text(form, "next") or "/")
    errors: dict[str, str] = {}
    principal = None
    if not login_post_allowed(request, _text(form, "login_token") or None):
        # A cross-site form (login CSRF) or an expired page: nobody is signed in by it.
        errors["key"] = "This sign-in form had expired or came from another site; sign in again here."
        context = {"next": target, "values": {}, "errors": errors}
        return _login_page(request, context, status_code=403)
    if not key:
        errors["key"] = "Enter an API key (from `bookplan keys create --scope ops`)."
    elif len(key) > 200:
        errors["key"] = f"That is not an API key ({len(key)} characters; keys are about 46)."
    else:
        with _db(request).session() as session:
            principal = authenticate(session, key)
        if principal is None:
            errors["key"] = "This key is not valid: unknown, mistyped or revoked."
    if errors or principal is None:
        context = {"next": target, "values": {"key": key}, "errors": errors}
        # 200, not 422: browsers log a 4xx page as a console error, and this is the form, shown again.
        return _login_page(request, context)
    key_hash = key_hash_of(request, principal.key_id)
    assert key_hash is not None  # just authenticated by it
    if principal.scopes.isdisjoint(BOOK_READERS) and target == "/":
        target = "/plans"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, principal.key_id, key_hash)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    return await posted(request, _logout)


def _logout(request: Request, form: Any) -> Response:
    page = read_session(request)
    if page is not None:
        token = form.get("csrf")
        if not signer(request).check_csrf(page.cookie, token if isinstance(token, str) else None):
            message = "The sign-out form had expired; reload the page and sign out again."
            return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)
        end_session(request, page)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


# ---------------------------------------------------------------- the book


@router.get("/")
def book_page(request: Request, approved: str | None = None, imported: str | None = None) -> Response:
    page = read_session(request)
    if page is None:
        return _login_redirect(request)
    if page.principal.scopes.isdisjoint(BOOK_READERS):
        return RedirectResponse("/plans", status_code=303)
    with _db(request).session() as session:
        summary = book_service.book_summary(session)
    context: dict[str, Any] = {"session": page, "summary": summary, "approved": None, "imported": imported}
    if "ops" in page.principal.scopes:
        book, _revision = _stored_book(request)
        csms = views.csm_views(book)
        active = [c for c in csms if not c.left]
        context.update(
            book=book,
            csms=csms,
            pools=views.group_pools(active),
            left=[c for c in csms if c.left],
            chart=views.utilization_chart(active, book.policy.capacity_hours),
            reference=book.policy.capacity_hours,
            handoffs=handoff_views.handoffs_in_progress(book),
            fairness=fairness_views.book_fairness_rows(book),
        )
        if approved:
            with _db(request).session() as session:
                job = session.get(PlanJob, approved)
            if job is not None and job.approved_at is not None:
                context["approved"] = job
    context["segment_policy"] = _stored_book(request)[0].policy
    return render(request, "book.html", context)


@router.get("/csms/{csm_id}")
def csm_page(request: Request, csm_id: str) -> Response:
    page = guard(request, OPS, "a CSM's accounts")
    if isinstance(page, Response):
        return page
    book, _revision = _stored_book(request)
    found = [c for c in views.csm_views(book) if c.id == csm_id]
    if not found:
        return _not_found(request, page, f"No CSM {csm_id!r} in the book.")
    csm = found[0]
    accounts = views.account_views(book, csm_id)
    return render(
        request,
        "csm.html",
        {
            "session": page,
            "csm": csm,
            "accounts": accounts,
            "as_of": book.policy.as_of or dt.date.today(),
            "policy": book.policy,
            "handoffs": handoff_views.handoffs_in_progress(book, csm_id),
            "segment_policy": book.policy,
        },
    )


# ---------------------------------------------------------------- plans


POLICY_FIELDS = (
    "objective",
    "balance_tolerance",
    "max_moves",
    "region_match",
    "language_match",
    "renewal_freeze_days",
    "onboarding_freeze_days",
    "as_of",
    "time_limit_seconds",
)


def _effective_policy(request: Request, book: Book) -> dict[str, Any]:
    """The book's policy as a plan would use it: the time limit is the service's unless the book sets one."""
    values = book.policy.model_dump(mode="json")
    values["time_limit_seconds"] = plan_service.time_limit_for(book, request.app.state.settings)
    return values


def _policy_values(policy: dict[str, Any]) -> dict[str, str]:
    return {name: "" if policy.get(name) is None else str(policy[name]) for name in POLICY_FIELDS}


def _plans_context(request: Request, page: PageSession, offset: int) -> dict[str, Any]:
    with _db(request).session() as session:
        history = plan_service.list_plan_jobs(session, PAGE_SIZE, offset, None)
    book, _ = _stored_book(request)
    return {
        "session": page,
        "history": history,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "policy": book.policy,
        "accounts": len(book.accounts),
        "values": _policy_values(_effective_policy(request, book)) | {"note": ""},
        "errors": {},
    }


@router.get("/plans")
def plans_page(request: Request, offset: int = 0) -> Response:
    page = guard(request, PLAN_READERS, "plans")
    if isinstance(page, Response):
        return page
    return render(request, "plans.html", _plans_context(request, page, bounded_offset(offset)))


def _parse_overrides(
    form: Any, current: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The form's policy fields that differ from `current` (the book's, as a plan would use them), the
    typed values, and errors by field."""
    typed = {name: _text(form, name) for name in (*POLICY_FIELDS, "note")}
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    for name in POLICY_FIELDS:
        if typed[name] != "":
            raw[name] = typed[name]
    if len(typed["note"]) > 1000:
        errors["note"] = f"At most 1,000 characters (this one has {len(typed['note']):,})."
    try:
        overrides = PolicyOverrides.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error.get("loc") else "policy"
            errors.setdefault(name, f"{error['msg']} (got {typed.get(name, '')!r}).")
        return {}, typed, errors
    chosen = overrides.model_dump(mode="json", exclude_none=True)
    if typed["max_moves"] == "" and current.get("max_moves") is not None:
        errors["max_moves"] = "Leave the book's limit, or give a number (0 or more)."
    return {k: v for k, v in chosen.items() if current.get(k) != v}, typed, errors


@router.post("/plans")
async def start_plan(request: Request) -> Response:
    return await posted(request, _start_plan)


def _start_plan(request: Request, form: Any) -> Response:
    page = guard_post(request, form, PLAN_READERS, "starting a plan")
    if isinstance(page, Response):
        return page
    book, _ = _stored_book(request)
    overrides, typed, errors = _parse_overrides(form, _effective_policy(request, book))
    if not errors:
        plan_request = PlanRequest(
            policy=PolicyOverrides.model_validate(overrides) if overrides else None,
            note=typed["note"] or None,
            frontier=_text(form, "frontier") == "1",
        )
        try:
            created, _new = plan_service.create_plan_job(
                _db(request),
                request.app.state.runner,
                request.app.state.settings,
                plan_request,
                page.principal,
                None,
            )
        except BookError as exc:
            errors[str(getattr(exc, "field", None) or "form").removeprefix("policy.")] = exc.message
        else:
            return RedirectResponse(f"/plans/{created.id}", status_code=303)
    context = _plans_context(request, page, 0)
    context.update(values=typed, errors=errors)
    return render(request, "plans.html", context)  # the form again, with its errors (200, as at sign-in)


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


# ---------------------------------------------------------------- hiring gaps


def _gap_report(request: Request) -> dict[str, Any]:
    report: bytes = request.app.state.gap_reports.for_stored_book(_db(request), {})
    data: dict[str, Any] = json.loads(report)
    return data


@router.get("/gaps")
def gaps_page(request: Request) -> Response:
    page = guard(request, BOOK_READERS, "hiring gaps")
    if isinstance(page, Response):
        return page
    try:
        report = _gap_report(request)
    except (BookError, SolveFailed) as exc:
        return _error_page(request, page, exc, 503)
    policy = _stored_book(request)[0].policy
    context = {
        "session": page,
        "report": report,
        "charts": views.gap_charts(report, policy),
        "segment_policy": policy,
    }
    return render(request, "gaps.html", context)


CSV_COLUMNS = (
    "tier",
    "region",
    "count",
    "level",
    "needed_by",
    "hire_by",
    "quarter",
    "late",
    "base_min",
    "base_max",
    "ote_min",
    "ote_max",
    "reason",
)


@router.get("/gaps.csv")
def gaps_csv(request: Request) -> Response:
    page = guard(request, BOOK_READERS, "hiring gaps")
    if isinstance(page, Response):
        return page
    try:
        report = _gap_report(request)
    except (BookError, SolveFailed) as exc:
        return _error_page(request, page, exc, 503)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for h in report["hires"]:
        writer.writerow(
            [
                neutralise(h["tier"] or ""),
                neutralise(h["region"] or ""),
                h["count"],
                h["level"],
                h["needed_by"],
                h["hire_by"],
                h["quarter"],
                "yes" if h["late"] else "no",
                h["base_range"][0],
                h["base_range"][1],
                h["ote_range"][0],
                h["ote_range"][1],
                neutralise(h["reason"]),
            ]
        )
    filename = f"bookplan-hires-{report['as_of']}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# ---------------------------------------------------------------- audit


@router.get("/audit")
def audit_page(
    request: Request, offset: int = 0, plan_id: str = "", action: str = "", account: str = ""
) -> Response:
    page = guard(request, OPS, "the audit log")
    if isinstance(page, Response):
        return page
    offset = bounded_offset(offset)
    with _db(request).session() as session:
        events = audit_service.list_events(
            session, 100, offset, plan_id=plan_id or None, action=action or None, account=account or None
        )
        recent = plan_service.list_plan_jobs(session, 10, 0, None)
    filters = {"plan_id": plan_id, "action": action, "account": account}
    return render(
        request,
        "audit.html",
        {"session": page, "events": events, "offset": offset, "filters": filters, "recent": recent},
    )
