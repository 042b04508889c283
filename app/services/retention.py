"""Retention: plan jobs older than the retention period are purged (with their moves, deliveries and the
book snapshots no job needs any more). Approved plans and the audit log are kept: they are the record of
what changed the book."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass

from sqlalchemy import delete, select

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError
from app.models import BookSnapshot, IdempotencyKey, PageSession, PlanJob, PlanMove, utcnow
from app.models_workers import ScheduleRun, WebhookDelivery

log = logging.getLogger("bookplan.retention")
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]
_SNAPSHOTS = BookSnapshot.__table__  # type: ignore[attr-defined]
_IDEMPOTENCY = IdempotencyKey.__table__  # type: ignore[attr-defined]
_SESSIONS = PageSession.__table__  # type: ignore[attr-defined]
_RUNS = ScheduleRun.__table__  # type: ignore[attr-defined]
_DELIVERIES = WebhookDelivery.__table__  # type: ignore[attr-defined]
_BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    plans: int
    snapshots: int
    idempotency_keys: int
    sessions: int


def parse_age(text: str) -> dt.timedelta:
    """`90d`, `36h` or `90` (days) as a duration; anything else is bad input naming the value."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([dh]?)\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise BookError(
            f"--older-than: expected a number of days or hours such as 90d or 36h (got {text!r})",
            field="older_than",
            value=text,
        )
    amount = int(match.group(1))
    return dt.timedelta(hours=amount) if match.group(2) == "h" else dt.timedelta(days=amount)


def purge(db: Database, older_than: dt.timedelta, now: dt.datetime | None = None) -> PurgeResult:
    """Delete finished, unapproved plan jobs created before `now - older_than`, in batches."""
    cutoff = (now or utcnow()) - older_than
    plans = 0
    while True:
        with db.writing() as session:
            ids = list(
                session.execute(
                    select(_JOBS.c.id)
                    .where(
                        _JOBS.c.created_at < cutoff,
                        _JOBS.c.approved_at.is_(None),
                        _JOBS.c.status.in_(("succeeded", "failed", "cancelled")),
                        # A scheduled plan still awaiting its decision stays until it is decided.
                        ~_JOBS.c.id.in_(select(_RUNS.c.plan_id).where(_RUNS.c.decision.is_(None))),
                    )
                    .limit(_BATCH)
                ).scalars()
            )
            if not ids:
                break
            session.execute(delete(_MOVES).where(_MOVES.c.plan_id.in_(ids)))
            session.execute(delete(_DELIVERIES).where(_DELIVERIES.c.plan_id.in_(ids)))
            session.execute(delete(_RUNS).where(_RUNS.c.plan_id.in_(ids)))
            session.execute(delete(_JOBS).where(_JOBS.c.id.in_(ids)))
            plans += len(ids)
    with db.writing() as session:
        needed = select(_JOBS.c.book_sha256).where(_JOBS.c.book_sha256.is_not(None))
        snapshots = session.execute(
            delete(_SNAPSHOTS).where(_SNAPSHOTS.c.created_at < cutoff, ~_SNAPSHOTS.c.sha256.in_(needed))
        ).rowcount  # type: ignore[attr-defined]
        keys = session.execute(delete(_IDEMPOTENCY).where(_IDEMPOTENCY.c.created_at < cutoff)).rowcount  # type: ignore[attr-defined]
        sessions = session.execute(delete(_SESSIONS).where(_SESSIONS.c.created_at < cutoff)).rowcount  # type: ignore[attr-defined]
    return PurgeResult(plans=plans, snapshots=snapshots, idempotency_keys=keys, sessions=sessions)


class DailyPurge:
    """Runs `purge` at most once a day in this process when `purge_daily` is set (every ticker may; the
    deletes are idempotent, so several processes doing it costs only a query)."""

    def __init__(self) -> None:
        self._last: dt.datetime | None = None
        self._lock = threading.Lock()

    def run_if_due(
        self, db: Database, settings: Settings, now: dt.datetime | None = None
    ) -> PurgeResult | None:
        if not settings.purge_daily:
            return None
        now = now or utcnow()
        with self._lock:
            if self._last is not None and now - self._last < dt.timedelta(days=1):
                return None
            self._last = now
        result = purge(db, dt.timedelta(days=settings.retention_days), now)
        log.info("daily purge: %s", result)
        return result


DAILY_PURGE = DailyPurge()
