"""The book pages: the book (summary for hr; every CSM, pools, utilization, handoffs and fairness for ops)
and one CSM's accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.models import PlanJob
from app.pages import fairness_views, handoff_views, views
from app.pages.common import BOOK_READERS, OPS, _db, _login_redirect, _not_found, _stored_book, guard, render
from app.pages.session import read_session
from app.services import book as book_service

router = APIRouter(include_in_schema=False)


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
