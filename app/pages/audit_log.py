"""The audit log page: every recorded event, filtered by plan, action or account, beside the recent plans."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.models import bounded_offset
from app.pages.common import OPS, _db, guard, render
from app.services import audit as audit_service
from app.services import plans as plan_service

router = APIRouter(include_in_schema=False)


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
