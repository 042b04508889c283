"""The plan schedule: read and edit it, and the tick that starts one plan of the stored book per period.

A tick looks at the latest period the schedule's cron expression has reached (in its time zone) and, if no
plan exists for it, starts one; the `schedule_run` row that records the period is written in the plan's own
transaction under a unique (schedule, period) key, so however many tickers run at once (every worker, the
service) one of them wins and the others' inserts fail. Only the latest period is ever started, so a stretch
of downtime across several boundaries is caught up with one plan. Scheduled plans are proposals: they are
approved here only when the schedule says `auto_approve` and the plan moves at most `max_moves` accounts.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import Database
from app.errors import BookError, DomainError
from app.models import PlanJob, PlanRequest, PolicyOverrides, utcnow
from app.models_workers import (
    PlanSchedule,
    SchedulePublic,
    ScheduleRun,
    ScheduleRunPublic,
    ScheduleUpdate,
)
from app.runner.base import JobRunner
from app.services.keys import Principal

log = logging.getLogger("bookplan.schedule")
_RUNS = ScheduleRun.__table__  # type: ignore[attr-defined]
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
SCHEDULER = Principal(key_id=0, name="scheduler", scopes=frozenset({"scheduler"}))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    # Stored in UTC, to the second: the unique key must compare equal across tickers.
    return _aware(value).astimezone(dt.UTC)


def zone(schedule: PlanSchedule, settings: Settings) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(schedule.timezone or settings.schedule_timezone)


def latest_period(cron: str, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The most recent instant at or before `now` the cron expression names, in UTC."""
    local = _aware(now).astimezone(tz)
    if croniter.match(cron, local):
        found = local.replace(second=0, microsecond=0)
    else:
        found = croniter(cron, local).get_prev(dt.datetime)
    return found.astimezone(dt.UTC)


def next_period(cron: str, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    return croniter(cron, _aware(now).astimezone(tz)).get_next(dt.datetime).astimezone(dt.UTC)


def load_schedule(session: Session) -> PlanSchedule:
    schedule = session.get(PlanSchedule, 1)
    if schedule is None:  # the migration inserts it; a database restored without it gets the default back
        schedule = PlanSchedule(id=1)
        session.add(schedule)
        session.commit()
    return schedule


# ---------------------------------------------------------------- API


def read_schedule(db: Database, settings: Settings, now: dt.datetime | None = None) -> SchedulePublic:
    now = now or utcnow()
    with db.session() as session:
        schedule = load_schedule(session)
        runs = session.execute(
            select(ScheduleRun).order_by(ScheduleRun.period.desc()).limit(20)  # type: ignore[attr-defined]
        ).scalars()
        recent = [
            ScheduleRunPublic(
                period=_aware(r.period),
                plan_id=r.plan_id,
                url=f"/v1/plans/{r.plan_id}",
                created_at=_aware(r.created_at),
                decision=r.decision,
            )
            for r in runs
        ]
    tz = zone(schedule, settings)
    return SchedulePublic(
        enabled=schedule.enabled,
        cron=schedule.cron,
        timezone=schedule.timezone,
        auto_approve=schedule.auto_approve,
        max_moves=schedule.max_moves,
        time_limit_seconds=schedule.time_limit_seconds,
        effective_timezone=tz.key,
        next_run_at=next_period(schedule.cron, tz, now) if schedule.enabled else None,
        updated_at=_aware(schedule.updated_at),
        updated_by=schedule.updated_by,
        recent_runs=recent,
    )


def validate(update_: ScheduleUpdate, settings: Settings) -> None:
    if not croniter.is_valid(update_.cron) or len(update_.cron.split()) != 5:
        raise BookError(
            f"cron: {update_.cron!r} is not a five-field cron expression (minute hour day month weekday, "
            "e.g. '0 6 1 1,4,7,10 *')",
            field="cron",
            value=update_.cron,
        )
    name = update_.timezone or settings.schedule_timezone
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BookError(
            f"timezone: {name!r} is not a known time zone (e.g. 'Europe/Paris', 'UTC')",
            field="timezone",
            value=name,
        ) from None


def write_schedule(
    db: Database, settings: Settings, update_: ScheduleUpdate, principal: Principal
) -> SchedulePublic:
    validate(update_, settings)
    now = utcnow()
    with db.writing() as session:
        schedule = load_schedule(session)
        was_enabled = schedule.enabled
        for field, value in update_.model_dump().items():
            setattr(schedule, field, value)
        if update_.enabled and not was_enabled:
            # Periods that passed while it was off are not caught up.
            schedule.active_since = _utc(now)
        schedule.updated_at = _utc(now)
        schedule.updated_by = principal.name
        session.add(schedule)
    return read_schedule(db, settings, now)


# ---------------------------------------------------------------- tick


def tick_schedule(
    db: Database, runner: JobRunner, settings: Settings, now: dt.datetime | None = None
) -> str | None:
    """Start the plan of the latest period if nobody has; returns its plan id when this call started it."""
    from app.services.plans import create_plan_job

    now = now or utcnow()
    with db.session() as session:
        schedule = load_schedule(session)
        if not schedule.enabled:
            return None
        period = latest_period(schedule.cron, zone(schedule, settings), now)
        if period < _aware(schedule.active_since):
            return None
        done = session.execute(
            select(_RUNS.c.id).where(_RUNS.c.schedule_id == schedule.id, _RUNS.c.period == _utc(period))
        ).first()
        if done is not None:
            return None
        time_limit = schedule.time_limit_seconds
        schedule_id = schedule.id

    def record(session: Session, plan_id: str) -> None:
        session.add(ScheduleRun(schedule_id=schedule_id, period=_utc(period), plan_id=plan_id))
        session.flush()  # the unique (schedule, period) key speaks here, inside the plan's transaction

    policy = PolicyOverrides(time_limit_seconds=time_limit) if time_limit is not None else None
    request = PlanRequest(policy=policy, note=f"scheduled plan for {period.isoformat()}")
    try:
        created, _new = create_plan_job(db, runner, settings, request, SCHEDULER, None, in_transaction=record)
    except IntegrityError:
        return None  # another ticker started this period's plan first
    except DomainError as exc:
        log.warning("scheduled plan for %s not started: %s", period.isoformat(), exc)
        return None
    except BookError as exc:
        log.warning("scheduled plan for %s not started: %s", period.isoformat(), exc.message)
        return None
    log.info("scheduled plan %s started for the period %s", created.id, period.isoformat())
    return created.id


def decide_finished_runs(db: Database) -> list[tuple[str, str]]:
    """For each scheduled plan that has ended: approve it (auto_approve, within max_moves) or leave it as a
    proposal. Returns (plan id, decision) for the ones decided by this call."""
    from app.services.plans import approve_plan

    decided: list[tuple[str, str]] = []
    with db.session() as session:
        schedule = load_schedule(session)
        pending = session.execute(
            select(_RUNS.c.id, _RUNS.c.plan_id, _JOBS.c.status, _JOBS.c.plan_status, _JOBS.c.progress)
            .join(_JOBS, _JOBS.c.id == _RUNS.c.plan_id)
            .where(_RUNS.c.decision.is_(None), _JOBS.c.status.in_(("succeeded", "failed", "cancelled")))
        ).all()
    for run_id, plan_id, status, plan_status, progress in pending:
        with db.writing() as session:
            claimed = session.execute(
                update(_RUNS)
                .where(_RUNS.c.id == run_id, _RUNS.c.decision.is_(None))
                .values(decision="deciding", decided_at=utcnow())
            ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        decision = _decision(schedule, status, plan_status, progress)
        if decision == "approved":
            try:
                approve_plan(db, plan_id, SCHEDULER, "approved by the schedule (auto_approve)")
            except DomainError as exc:
                decision = f"proposal: not auto-approved: {exc}"
        with db.writing() as session:
            session.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(decision=decision))
        decided.append((plan_id, decision))
    return decided


def _decision(schedule: PlanSchedule, status: str, plan_status: str | None, progress: Any) -> str:
    if status != "succeeded":
        return f"none: the plan {status}"
    if not schedule.auto_approve:
        return "proposal"
    if plan_status not in ("optimal", "feasible"):
        return f"proposal: the plan is {plan_status}"
    moves = int((progress or {}).get("moves") or 0)
    if schedule.max_moves is not None and moves > schedule.max_moves:
        return f"proposal: {moves} moves, more than the schedule's max_moves ({schedule.max_moves})"
    return "approved"


# ---------------------------------------------------------------- the periodic work


def maintenance(db: Database, runner: JobRunner, settings: Settings) -> None:
    """One round of what tickers do: the schedule, decisions on ended scheduled plans, webhook deliveries
    and `handoffs.due` notices to make (a `WebhookSender` sends them, on its own thread), the daily purge
    when it is on. Each part is safe to run from any number of processes at once."""
    from app.services.handoff_notices import create_due_notices
    from app.services.retention import DAILY_PURGE
    from app.services.webhooks import create_deliveries

    for part in (
        lambda: tick_schedule(db, runner, settings),
        lambda: decide_finished_runs(db),
        lambda: create_deliveries(db, settings),
        lambda: create_due_notices(db, settings),
        lambda: DAILY_PURGE.run_if_due(db, settings),
    ):
        try:
            part()
        except Exception:  # a database hiccup or a bad receiver must not stop the next round
            log.exception("scheduled maintenance failed")


class EmbeddedTicker:
    """The ticker inside `bookplan serve`: one thread running `maintenance` every `tick_seconds`."""

    def __init__(self, db: Database, runner: JobRunner, settings: Settings) -> None:
        import threading

        self.db, self.runner, self.settings = db, runner, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bookplan-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            maintenance(self.db, self.runner, self.settings)
