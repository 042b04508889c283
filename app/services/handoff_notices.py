"""The `handoffs.due` webhook: on each wave's first handoff day, the wave's moves of an approved plan are
posted to the webhook URL, signed like every bookplan webhook (`app/services/webhooks.py`).

One `handoff_notice` row per (plan, wave) under a unique key: every ticker (workers, services) may create
the due ones at once and only one row survives; sending claims the row for one attempt, so each wave is
posted once (retried with back-off only when the receiver fails).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.config import Settings
from app.core.db import Database
from app.models import AuditEvent, PlanJob, PlanMove, utcnow
from app.models_handoffs import HandoffNotice
from app.services.webhooks import deliver_due

_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_NOTICES = HandoffNotice.__table__  # type: ignore[attr-defined]
# A wave whose day passed longer ago than this is not announced late (the service was down, or the webhook
# URL was set afterwards), unless its plan was approved within the last day: approving a plan whose first
# waves have already begun announces them at once.
LATE_WAVES = dt.timedelta(days=14)
JUST_APPROVED = dt.timedelta(days=1)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def due_waves(db: Database, now: dt.datetime) -> list[tuple[str, int, dt.date]]:
    """(plan, wave, day) of every wave of an approved plan whose first handoff day has come and that has no
    notice yet."""
    today = _utc(now).date()
    first_day = func.min(_MOVES.c.handoff_on)
    with db.session() as session:
        rows = session.execute(
            select(_MOVES.c.plan_id, _MOVES.c.wave, first_day, _JOBS.c.approved_at)
            .join(_JOBS, _JOBS.c.id == _MOVES.c.plan_id)
            .outerjoin(
                _NOTICES, and_(_NOTICES.c.plan_id == _MOVES.c.plan_id, _NOTICES.c.wave == _MOVES.c.wave)
            )
            .where(
                _JOBS.c.approved_at.is_not(None),
                _MOVES.c.wave.is_not(None),
                _MOVES.c.handoff_on.is_not(None),
                _NOTICES.c.id.is_(None),
            )
            .group_by(_MOVES.c.plan_id, _MOVES.c.wave, _JOBS.c.approved_at)
            .having(first_day <= today)
        ).all()
    due = []
    for plan_id, wave, day, approved_at in rows:
        recent = _utc(approved_at) >= _utc(now) - JUST_APPROVED
        if day >= today - LATE_WAVES or recent:
            due.append((plan_id, int(wave), day))
    return due


def wave_payload(db: Database, plan_id: str, wave: int, day: dt.date) -> dict[str, Any]:
    """The body of one wave's `handoffs.due` event: the moves approval applied, each with its handoff."""
    with db.session() as session:
        applied = set(
            session.execute(
                select(_AUDIT.c.account).where(
                    _AUDIT.c.plan_id == plan_id, _AUDIT.c.action == "account_moved"
                )
            ).scalars()
        )
        moves = session.execute(
            select(_MOVES).where(_MOVES.c.plan_id == plan_id, _MOVES.c.wave == wave).order_by(_MOVES.c.seq)
        ).all()
    return {
        "event": "handoffs.due",
        "plan_id": plan_id,
        "wave": wave,
        "due_on": day.isoformat(),
        "url": f"/v1/plans/{plan_id}/handoffs.csv?format=generic&wave={wave}",
        "moves": [
            {
                "account": m.account,
                "from": m.from_csm,
                "to": m.to_csm,
                "handoff_on": m.handoff_on.isoformat() if m.handoff_on else None,
                "arr": m.arr,
                "hours": m.hours,
                "reason": m.reason,
            }
            for m in moves
            if m.account in applied
        ],
    }


def create_due_notices(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """A pending `handoffs.due` notice for every wave whose day has come (and none yet); returns how many
    this call tried to create (a wave another ticker created first is skipped by the unique key)."""
    if not settings.webhook_url:
        return 0
    now = now or utcnow()
    values = []
    for plan_id, wave, day in due_waves(db, now):
        payload = wave_payload(db, plan_id, wave, day)
        if not payload["moves"]:
            continue  # approval applied none of this wave's moves
        values.append(
            {
                "plan_id": plan_id,
                "wave": wave,
                "due_on": day,
                "url": settings.webhook_url,
                "payload": json.dumps(payload, separators=(",", ":")),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),  # send now (`now` only says which days have come)
                "created_at": utcnow(),
            }
        )
    if not values:
        return 0
    with db.writing() as session:
        dialect = session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert if dialect == "sqlite" else None
        if make is None:
            session.execute(insert(_NOTICES), values)
        else:
            # Another ticker may have created the same wave's notice meanwhile: one row per plan and wave.
            statement = make(_NOTICES).on_conflict_do_nothing(index_elements=["plan_id", "wave"])
            session.execute(statement, values)
    return len(values)


def send_handoff_notices(
    db: Database, settings: Settings, client: httpx.Client | None = None, now: dt.datetime | None = None
) -> int:
    """One round: create the notices of the waves that are due, then send the due ones; returns how many
    the receiver accepted."""
    create_due_notices(db, settings, now)
    return deliver_due(db, settings, client, table=_NOTICES)


def notices_by_plan(db: Database, plan_id: str) -> dict[int, str]:
    """Each wave of a plan that has a notice, and its status (pending, delivered, failed)."""
    with db.session() as session:
        rows = session.execute(
            select(_NOTICES.c.wave, _NOTICES.c.status).where(_NOTICES.c.plan_id == plan_id)
        ).all()
    return {int(w): str(s) for w, s in rows}
