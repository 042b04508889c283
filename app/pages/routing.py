"""The "New account" page: which CSM should take a new customer (segment, ARR, region, language, parent),
the candidates best first with the CSMs excluded by rule, and an Assign button for ops.

The form reads (GET, nothing changes); Assign writes the first candidate through the same service as
`POST /v1/recommendations` with `assign: true`, behind the CSRF check every state-changing form has."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.errors import BookError, Conflict, DomainError
from app.models_routing import RecommendationRequest, RecommendationResponse
from app.pages.common import _db, _stored_book, _text, guard, guard_post, posted, render
from app.services import recommendations as routing_service
from app.services.keys import Principal
from solver.errors import field_path
from solver.schema import known_segments

router = APIRouter(include_in_schema=False)

ROUTERS = ("ops", "scheduler")  # who may ask; only ops may assign
FIELDS = ("id", "name", "tier", "arr", "region", "language", "parent_id")
TOP = 5


def _account_of(values: dict[str, str]) -> dict[str, Any]:
    """The form's fields as an Account document (blank fields left out; ARR as typed, checked by the schema)."""
    account: dict[str, Any] = {k: v for k, v in values.items() if v and k != "arr"}
    arr = values.get("arr", "").replace(",", "").replace("$", "")
    account["arr"] = arr if arr else None
    return account


def _field_of(exc: DomainError | BookError) -> str:
    """The form field an error names: `accounts[0].arr` -> `arr`."""
    field = exc.field or ""
    name = field.split(".", 1)[1] if field.startswith("accounts[0].") else field
    return name if name in FIELDS else "form"


def _route(
    request: Request, principal: Principal, values: dict[str, str], assign: bool
) -> tuple[RecommendationResponse | None, dict[str, str]]:
    try:
        body = RecommendationRequest.model_validate(
            {"accounts": [_account_of(values)], "top": TOP, "assign": assign}
        )
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = field_path(tuple(error["loc"]))
        name = loc.split(".", 1)[1] if loc.startswith("accounts[0].") else loc
        message = f"{error['msg']}" + (" (required)" if error["type"] == "missing" else "")
        return None, {name if name in FIELDS else "form": message}
    cache: routing_service.RoutingCache = request.app.state.routing_cache
    try:
        return routing_service.recommend_accounts(_db(request), cache, body, principal, None), {}
    except (BookError, Conflict) as exc:
        return None, {_field_of(exc): exc.message}


def _context(request: Request, page: Any, values: dict[str, str]) -> dict[str, Any]:
    book, _revision = _stored_book(request)
    return {
        "session": page,
        "values": values,
        "segments": known_segments(book.policy),
        "errors": {},
        "result": None,
        "assigned": None,
    }


@router.get("/route")
def new_account_page(request: Request) -> Response:
    page = guard(request, ROUTERS, "routing a new account")
    if isinstance(page, Response):
        return page
    values = {k: request.query_params.get(k, "").strip() for k in FIELDS}
    context = _context(request, page, values)
    if any(values[k] for k in ("id", "tier", "arr")):
        result, errors = _route(request, page.principal, values, assign=False)
        context.update(result=result, errors=errors)
    return render(request, "route.html", context)


@router.post("/route/assign")
async def assign_new_account(request: Request) -> Response:
    return await posted(request, _assign)


def _assign(request: Request, form: Any) -> Response:
    page = guard_post(request, form, ("ops",), "assigning a new account")
    if isinstance(page, Response):
        return page
    values = {k: _text(form, k) for k in FIELDS}
    result, errors = _route(request, page.principal, values, assign=True)
    context = _context(request, page, values)
    context.update(result=result, errors=errors, assigned=result.written if result else None)
    return render(request, "route.html", context)
