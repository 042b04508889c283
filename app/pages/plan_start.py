"""The plans page: the history of plans, and the form that starts one (the book's policy as a plan would
use it, with the fields a person changes sent as overrides)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.errors import BookError
from app.models import PlanRequest, PolicyOverrides, bounded_offset
from app.pages.common import (
    PAGE_SIZE,
    PLAN_READERS,
    _db,
    _stored_book,
    _text,
    guard,
    guard_post,
    posted,
    render,
)
from app.pages.session import PageSession
from app.services import plans as plan_service
from solver.schema import Book

router = APIRouter(include_in_schema=False)


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
