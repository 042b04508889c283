"""Tables and API shapes of distributed plan jobs: the plan schedule, one row per scheduled period, and
webhook deliveries. (procrastinate's own tables live beside them on PostgreSQL; see app/runner/queue.py.)
"""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models import RequestBody, utcnow

# 06:00 on the first day of January, April, July and October: the start of each quarter.
DEFAULT_CRON = "0 6 1 1,4,7,10 *"


class PlanSchedule(SQLModel, table=True):
    """When plans of the stored book start by themselves, and what happens to them (a single row, id 1)."""

    __tablename__ = "plan_schedule"

    id: int = Field(default=1, primary_key=True)
    enabled: bool = True
    cron: str = Field(default=DEFAULT_CRON, max_length=100)
    # None: the service's `schedule_timezone` setting.
    timezone: str | None = Field(default=None, max_length=64)
    auto_approve: bool = False
    max_moves: int | None = None
    time_limit_seconds: float | None = None
    # Periods before this instant are never run: enabling a schedule does not replay the past.
    active_since: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, max_length=200)


class ScheduleRun(SQLModel, table=True):
    """One scheduled period and the plan started for it: the unique key is what makes it one plan however
    many tickers (workers, services) look at the same period at once."""

    __tablename__ = "schedule_run"
    __table_args__ = (UniqueConstraint("schedule_id", "period", name="uq_schedule_run_period"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(default=1)
    period: dt.datetime
    plan_id: str = Field(max_length=32, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # None until the plan ends; then "approved", "proposal" (left for a person) or why it was not applied.
    decision: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: dt.datetime | None = None


class WebhookDelivery(SQLModel, table=True):
    """The summary of a finished plan, to be posted once to the webhook URL (retried with back-off)."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(max_length=32, unique=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    # A claim: the sender that set this owns the delivery until then (a dead sender's claim just expires).
    locked_until: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)
    delivered_at: dt.datetime | None = None


# ---------------------------------------------------------------- public shapes


class _Public(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class ScheduleUpdate(RequestBody):
    """The plan schedule: a cron expression read in `timezone`; each period starts one plan of the stored
    book, a proposal unless `auto_approve` and it moves at most `max_moves` accounts."""

    enabled: bool = True
    cron: str = Field(default=DEFAULT_CRON, min_length=9, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    auto_approve: bool = False
    max_moves: int | None = Field(default=None, ge=0)
    time_limit_seconds: float | None = Field(default=None, gt=0, le=86_400)


class ScheduleRunPublic(_Public):
    period: dt.datetime
    plan_id: str
    url: str
    created_at: dt.datetime
    decision: str | None = None


class SchedulePublic(ScheduleUpdate):
    effective_timezone: str
    next_run_at: dt.datetime | None = None
    updated_at: dt.datetime
    updated_by: str | None = None
    recent_runs: list[ScheduleRunPublic] = Field(default_factory=list, max_length=20)
