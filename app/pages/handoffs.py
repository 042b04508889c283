"""Pages for carrying out a rebalance: each CSM's printable change sheet, and the downloads (change sheets
and CRM write-back files) behind the plan page's buttons."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.errors import BookError, Conflict, NotFound
from app.pages import handoff_views
from app.pages.common import OPS, PLAN_READERS, _db, _error_page, _not_found, guard, render
from app.services import handoffs as handoff_service

router = APIRouter(include_in_schema=False)


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/plans/{plan_id}/changes/{csm_id}")
def change_sheet_page(request: Request, plan_id: str, csm_id: str) -> Response:
    """One CSM's change sheet, to print and walk through with them: load before and after, accounts in words."""
    page = guard(request, PLAN_READERS, "change sheets")
    if isinstance(page, Response):
        return page
    try:
        found = handoff_service.load_plan_for_handoffs(_db(request), plan_id)
        sheet = handoff_service.change_sheet_for(handoff_service.change_sheets(found), csm_id)
    except NotFound as exc:
        return _not_found(request, page, exc.message)
    except Conflict as exc:
        return _error_page(request, page, exc, 409)
    context = {
        "session": page,
        "plan_id": plan_id,
        "approved": found.approved,
        "as_of": found.plan.as_of,
        "sheet": sheet,
        "load": handoff_views.load_sentence(sheet),
        "gains": [handoff_views.gain_sentence(c, found.book) for c in sheet.gains],
        "losses": [handoff_views.loss_sentence(c) for c in sheet.losses],
    }
    return render(request, "changes.html", context)


@router.get("/plans/{plan_id}/handoffs/changes.csv")
def change_sheets_csv(request: Request, plan_id: str) -> Response:
    page = guard(request, PLAN_READERS, "change sheets")
    if isinstance(page, Response):
        return page
    try:
        found = handoff_service.load_plan_for_handoffs(_db(request), plan_id)
    except NotFound as exc:
        return _not_found(request, page, exc.message)
    except Conflict as exc:
        return _error_page(request, page, exc, 409)
    text = handoff_service.changes_csv(handoff_service.change_sheets(found))
    return _csv(text, f"changes-{plan_id[:8]}.csv")


@router.get("/plans/{plan_id}/handoffs/{fmt}.csv")
def crm_file(request: Request, plan_id: str, fmt: str, wave: int | None = None) -> Response:
    """The CRM write-back file of the download buttons; a CSM without the identity it needs is named."""
    page = guard(request, OPS, "CRM files")
    if isinstance(page, Response):
        return page
    try:
        found = handoff_service.load_plan_for_handoffs(_db(request), plan_id)
        text = handoff_service.handoffs_csv(found, fmt, wave)  # type: ignore[arg-type]
    except NotFound as exc:
        return _not_found(request, page, exc.message)
    except Conflict as exc:
        return _error_page(request, page, exc, 409)
    except BookError as exc:
        return _error_page(request, page, exc, 422)
    return _csv(text, handoff_service.handoffs_filename(found, fmt, wave))  # type: ignore[arg-type]
