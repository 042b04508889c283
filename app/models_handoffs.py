"""Carrying out a rebalance: the `handoffs.due` notice of each wave of an approved plan (one row per plan and
wave, so however many tickers run it is sent once), and the API shapes of change sheets."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import ConfigDict
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models import utcnow
from solver.schema import MAX_ACCOUNTS, MAX_CSMS


class HandoffNotice(SQLModel, table=True):
    """The `handoffs.due` webhook of one wave of an approved plan, posted once on the wave's first handoff
    day (retried with back-off); the unique (plan, wave) key is the claim every ticker races for."""

    __tablename__ = "handoff_notice"
    __table_args__ = (UniqueConstraint("plan_id", "wave", name="uq_handoff_notice_wave"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(max_length=32, index=True)
    wave: int
    due_on: dt.date
    url: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    locked_until: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)
    delivered_at: dt.datetime | None = None


# ---------------------------------------------------------------- change sheets


class _Public(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class AccountChange(_Public):
    """One account a CSM gains or loses: what it is worth, when it changes hands and why."""

    account: str
    account_name: str
    arr: float
    hours: float
    renewal_date: dt.date | None = None
    other_csm: str | None = None  # who it comes from (a gain) or goes to (a loss); None: a new account
    other_csm_name: str | None = None
    handoff_on: dt.date | None = None
    wave: int | None = None
    reason: str


class CSMChanges(_Public):
    """One CSM whose book the plan changes: the accounts gained and lost, and the load before and after."""

    csm: str
    csm_name: str
    gains: list[AccountChange] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    losses: list[AccountChange] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    hours_before: float
    hours_after: float
    arr_before: float
    arr_after: float
    accounts_before: int
    accounts_after: int
    capacity_hours: float
    utilization_before: float | None = None
    utilization_after: float | None = None


class PlanChanges(_Public):
    """The change sheets of a plan: one entry per CSM whose book changes."""

    plan_id: str
    status: Literal["approved", "proposal"]
    as_of: dt.date | None = None
    csms: list[CSMChanges] = Field(default_factory=list, max_length=MAX_CSMS)
