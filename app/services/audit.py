"""Reading the audit log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from app.models import AuditEvent, AuditEventPublic, AuditList

_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]


def list_events(
    session: Session,
    limit: int,
    offset: int,
    *,
    plan_id: str | None = None,
    account: str | None = None,
    action: str | None = None,
) -> AuditList:
    where = []
    if plan_id is not None:
        where.append(_AUDIT.c.plan_id == plan_id)
    if account is not None:
        where.append(_AUDIT.c.account == account)
    if action is not None:
        where.append(_AUDIT.c.action == action)
    total = session.execute(select(func.count()).select_from(_AUDIT).where(*where)).scalar_one()
    rows = session.execute(
        select(_AUDIT).where(*where).order_by(_AUDIT.c.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [AuditEventPublic.model_validate(dict(r._mapping)) for r in rows]
    return AuditList(items=items, total=int(total), limit=limit, offset=offset)
