"""`GET /v1/audit`: who changed the book, when, and through which plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import OpsKey, SessionDep
from app.models import MAX_OFFSET, MAX_PAGE, AuditList
from app.services.audit import list_events

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=AuditList)
def read_audit(
    session: SessionDep,
    _key: OpsKey,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    plan_id: Annotated[str | None, Query(max_length=64)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
) -> AuditList:
    """Audit events, newest first; filter by plan, account or action (e.g. `account_moved`)."""
    return list_events(session, limit, offset, plan_id=plan_id, account=account, action=action)
