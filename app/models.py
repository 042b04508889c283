"""SQLModel tables (the stored book, plan jobs, moves, audit events, API keys, idempotency keys)
and the public shapes of the HTTP API that are not the solver's own (Book and Plan are `solver.schema`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, field_validator
from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from solver.schema import (
    CSM,
    MAX_CSMS,
    MAX_SEGMENTS,
    Account,
    BalanceMetric,
    BalanceTolerance,
    Book,
    HealthBands,
    HealthHours,
    Plan,
    Tier,
    TierPolicy,
    refuse_nul,
)

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
Scope = Literal["ops", "hr", "scheduler"]
SCOPES: tuple[Scope, ...] = ("ops", "hr", "scheduler")
MAX_PAGE = 500
# No list is this long; a larger offset is a typo or a probe, and SQL integer types overflow past 2**63.
MAX_OFFSET = 10_000_000


def bounded_offset(offset: int) -> int:
    """A page offset clamped into [0, MAX_OFFSET] (pages clamp; the API refuses with 422 instead)."""
    return min(max(0, offset), MAX_OFFSET)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- tables


class BookState(SQLModel, table=True):
    """The single stored book's header: its revision (bumped on every change), policy and pairs."""

    __tablename__ = "book_state"

    id: int = Field(default=1, primary_key=True)
    revision: int = Field(default=0)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pairs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, max_length=200)


class AccountRow(SQLModel, table=True):
    __tablename__ = "account"

    id: str = Field(primary_key=True, max_length=200)
    position: int = Field(sa_type=BigInteger, index=True)
    name: str | None = Field(default=None, max_length=500)
    arr: float
    tier: str = Field(max_length=40)
    hours_per_year: float | None = None
    region: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=50)
    current_csm: str | None = Field(default=None, max_length=200, index=True)
    pinned: bool = False
    renewal_date: dt.date | None = None
    start_date: dt.date | None = None
    parent_id: str | None = Field(default=None, max_length=200)
    health: str | None = Field(default=None, max_length=10)
    health_score: float | None = None
    previous_csm: str | None = Field(default=None, max_length=200)
    handoff_on: dt.date | None = None


class CSMRow(SQLModel, table=True):
    __tablename__ = "csm"

    id: str = Field(primary_key=True, max_length=200)
    position: int = Field(sa_type=BigInteger, index=True)
    name: str | None = Field(default=None, max_length=500)
    level: str | None = Field(default=None, max_length=20)
    tiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fte: float = 1.0
    capacity_hours: float | None = None
    arr_cap: float | None = None
    max_accounts: int | None = None
    regions: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    languages: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    accepting_new: bool = True
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    email: str | None = Field(default=None, max_length=320)
    crm_user_id: str | None = Field(default=None, max_length=200)


class PlanJob(SQLModel, table=True):
    """A plan job: what was asked, by whom, on which book, its progress and its plan."""

    __tablename__ = "plan_job"
    __table_args__ = (
        Index("ix_plan_job_status_created", "status", "created_at"),
        Index("ix_plan_job_key_status", "requested_by_key_id", "status"),
        Index("ix_plan_job_book_sha256", "book_sha256"),
    )

    id: str = Field(primary_key=True, max_length=32)
    status: str = Field(max_length=16)
    source: str = Field(max_length=16)  # "stored" or "inline"
    requested_by: str = Field(max_length=200)
    # The API key that asked (None: the CLI, or a job from before keys were recorded): quotas count by it.
    requested_by_key_id: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    book_revision: int | None = None
    input_sha256: str = Field(max_length=64)
    time_limit_seconds: float
    # The book as solved is `book_snapshot[book_sha256]` (the book before overrides, stored once per content)
    # with `input_policy` as its policy. Jobs from before snapshots hold the whole book in `input_book`.
    input_book: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    book_sha256: str | None = Field(default=None, max_length=64)
    input_policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The stored book's policy before overrides, so a stale check does not mistake an override for an edit.
    base_policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    policy_overrides: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    accounts: int = 0
    csms: int = 0
    progress: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    plan_status: str | None = Field(default=None, max_length=32)
    # Stored as the JSON text the solver produced so GET can return it without re-serialising.
    plan: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = 0
    worker_pid: int | None = None
    cancel_requested: bool = False
    approved_at: dt.datetime | None = None
    approved_by: str | None = Field(default=None, max_length=200)
    # "plan", "frontier" (a job planning several move budgets) or "point" (one budget of a frontier).
    kind: str = Field(default="plan", max_length=16, sa_column_kwargs={"server_default": "plan"})
    # The plan this one was re-planned from, or the frontier a point belongs to.
    parent: str | None = Field(default=None, max_length=32, index=True)
    # What-if: {"remove_csms": [...], "add_csms": [...]} (ids); a scenario is never approved.
    scenario: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # A frontier job's points so far (CONTRACT.md "Deciding a rebalance").
    frontier: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A re-plan's book before its vetoes were pinned into it: what approval compares the stored book with.
    base_book: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PlanMove(SQLModel, table=True):
    __tablename__ = "plan_move"

    plan_id: str = Field(primary_key=True, foreign_key="plan_job.id", max_length=32, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    account: str = Field(max_length=200)
    from_csm: str | None = Field(default=None, max_length=200)
    to_csm: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    arr: float = 0.0
    hours: float = 0.0
    handoff_on: dt.date | None = None
    wave: int | None = None


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_account", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=200)
    # The API key behind `actor` (names need not be unique); None for the CLI and the service itself.
    actor_key_id: int | None = None
    action: str = Field(max_length=40)
    plan_id: str | None = Field(default=None, max_length=32, index=True)
    account: str | None = Field(default=None, max_length=200)
    csm: str | None = Field(default=None, max_length=200)
    from_csm: str | None = Field(default=None, max_length=200)
    to_csm: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    book_revision: int | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ApiKey(SQLModel, table=True):
    """An API key: only the SHA-256 of the secret is stored, with a short prefix to recognise it."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    scopes: str = Field(max_length=100)  # comma-separated
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None


class IdempotencyKey(SQLModel, table=True):
    """One row per (API key, route, key): the unique constraint makes 20 parallel retries one job, and
    another API key's use of the same text is another request."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("key_id", "route", "key", name="uq_idempotency_key_route_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key_id: int = Field(default=0)
    route: str = Field(max_length=40)
    key: str = Field(max_length=200)
    body_sha256: str = Field(max_length=64)
    job_id: str | None = Field(default=None, max_length=32)
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)


class BookSnapshot(SQLModel, table=True):
    """A book as plan jobs were asked to solve it (before policy overrides), stored once per content."""

    __tablename__ = "book_snapshot"

    sha256: str = Field(primary_key=True, max_length=64)
    book: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class PageSession(SQLModel, table=True):
    """A sign-in on the pages: the cookie names it, and sign-out revokes it here."""

    __tablename__ = "page_session"

    id: str = Field(primary_key=True, max_length=64)
    key_id: int
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    revoked_at: dt.datetime | None = None


# ---------------------------------------------------------------- public shapes


class _Public(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class RequestBody(_Public):
    """A request body: no string of it may hold a NUL (stored text cannot; see `solver.schema`)."""

    @field_validator("*", mode="before")
    @classmethod
    def _text_has_no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class ErrorDetail(_Public):
    field: str | None = None
    message: str
    value: Any = None
    row: int | None = Field(default=None, description="CSV row (1 is the header), for a bad cell")
    column: str | None = Field(default=None, description="CSV column as headed in the file")
    expected: str | None = Field(default=None, description="What the cell should hold")


class ErrorResponse(_Public):
    """Every error of the API has this shape: a one-line message and the fields it concerns."""

    message: str
    detail: list[ErrorDetail] = Field(default_factory=list, max_length=100)
    changes: dict[str, Any] | None = None


class TierSummary(_Public):
    tier: str
    label: str = Field(description="How people write the segment (its policy label)")
    accounts: int
    arr: float


class BookSummary(_Public):
    revision: int
    accounts: int
    csms: int
    arr: float
    unassigned_accounts: int
    pinned_accounts: int
    pairs: int
    tiers: list[TierSummary] = Field(max_length=MAX_SEGMENTS)
    updated_at: dt.datetime
    updated_by: str | None = None


class BookReplaced(_Public):
    revision: int
    accounts: int
    csms: int
    pairs: int


class AccountList(_Public):
    items: list[Account] = Field(max_length=MAX_PAGE)
    total: int
    limit: int
    offset: int


class CSMList(_Public):
    items: list[CSM] = Field(max_length=MAX_PAGE)
    total: int
    limit: int
    offset: int


class BookRevision(_Public):
    revision: int


class ImportResult(_Public):
    revision: int
    rows: int
    columns: dict[str, str] = Field(description="CSV column → book field it was read as")
    ignored_columns: list[str] = Field(default_factory=list, max_length=1000)


class PolicyOverrides(RequestBody):
    """Policy fields to change for this plan only; absent fields keep the book's policy."""

    as_of: dt.date | None = None
    capacity_hours: float | None = Field(default=None, ge=0)
    # Each replaces the book's whole entry (`{"balance_metrics": {}}` plans with hours balanced alone).
    tiers: dict[Tier, TierPolicy] | None = Field(default=None, max_length=MAX_SEGMENTS)
    health_bands: HealthBands | None = None
    health_hours: HealthHours | None = None
    balance_metrics: dict[BalanceMetric, BalanceTolerance] | None = None
    region_match: Literal["hard", "soft", "off"] | None = None
    language_match: Literal["hard", "soft", "off"] | None = None
    renewal_freeze_days: int | None = Field(default=None, ge=0, le=3660)
    onboarding_freeze_days: int | None = Field(default=None, ge=0, le=3660)
    ramp_days: int | None = Field(default=None, ge=0, le=3660)
    hiring_lead_days: int | None = Field(default=None, ge=0, le=3660)
    max_moves: int | None = Field(default=None, ge=0)
    balance_tolerance: float | None = Field(default=None, ge=0, le=1)
    objective: Literal["balance", "min_cost"] | None = None
    time_limit_seconds: float | None = Field(default=None, gt=0, le=86_400)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    deterministic: bool | None = None
    workers: int | None = Field(default=None, ge=1, le=64)
    handoffs_per_week: int | None = Field(default=None, ge=1, le=10_000)


class Scenario(RequestBody):
    """A what-if on the stored book: these CSMs gone, these added. Its plan is never approved."""

    remove_csms: list[str] = Field(default_factory=list, max_length=10_000)
    add_csms: list[CSM] = Field(default_factory=list, max_length=10_000)


class PlanRequest(RequestBody):
    """`{}` plans the stored book; `{"book": ...}` an inline one; `policy` overrides fields for this plan;
    `frontier: true` plans several move budgets; `scenario` removes or adds CSMs (a what-if)."""

    book: Book | None = None
    policy: PolicyOverrides | None = None
    note: str | None = Field(default=None, max_length=1000)
    frontier: bool = False
    scenario: Scenario | None = None


class ReplanRequest(_Public):
    """Re-plan a plan around vetoes: `reject`ed accounts stay with their current CSM, `keep` moves stay."""

    reject: list[str] = Field(default_factory=list, max_length=100_000)
    keep: list[str] = Field(default_factory=list, max_length=100_000)
    note: str | None = Field(default=None, max_length=1000)


class FrontierPointPublic(_Public):
    max_moves: int | None
    moves: int
    max_utilization: float | None = None
    max_utilization_bound: float | None = None
    csms_out_of_band: int
    unassigned: int = 0
    status: str | None = None
    fairness: list[dict[str, Any]] = Field(default_factory=list, max_length=10 * MAX_CSMS)
    kept_from: int | None = None
    plan_id: str


class PlanCreated(_Public):
    id: str
    status: JobStatus
    url: str


class PlanProgress(_Public):
    elapsed_seconds: float
    phase: str | None = None
    points_done: int | None = None
    points_total: int | None = None
    pools_done: int | None = None
    pools_total: int | None = None
    max_utilization: float | None = None
    max_utilization_bound: float | None = None
    moves: int | None = None
    unassigned: int | None = None


class PlanJobSummary(_Public):
    id: str
    status: JobStatus
    url: str
    source: str
    requested_by: str
    requested_by_key_id: int | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    elapsed_seconds: float | None = None
    book_revision: int | None = None
    input_sha256: str
    accounts: int
    csms: int
    time_limit_seconds: float
    plan_status: str | None = None
    error: str | None = None
    attempts: int
    approved_at: dt.datetime | None = None
    approved_by: str | None = None
    kind: str = "plan"
    parent: str | None = None
    scenario: dict[str, Any] | None = None
    note: str | None = None


class PlanJobPublic(PlanJobSummary):
    progress: PlanProgress | None = None
    policy_overrides: dict[str, Any] | None = None
    frontier: list[FrontierPointPublic] | None = Field(default=None, max_length=100)
    plan: Plan | None = None


class PlanJobList(_Public):
    items: list[PlanJobSummary] = Field(max_length=MAX_PAGE)
    total: int
    limit: int
    offset: int


class ApproveRequest(RequestBody):
    note: str | None = Field(default=None, max_length=1000)
    moves: list[str] | None = Field(
        default=None, max_length=100_000, description="Account ids of the moves to apply (absent: all)"
    )


class ApprovalResult(_Public):
    plan_id: str
    applied_moves: int
    left_moves: int = 0  # moves of the plan not approved (a partial approval)
    applied_assignments: int = 0  # accounts that had no CSM and got their first one
    book_revision: int
    approved_by: str
    approved_at: dt.datetime


class ComparedPlan(_Public):
    id: str
    url: str
    kind: str
    parent: str | None = None
    scenario: bool
    status: str
    moves: int
    unassigned: int
    max_utilization: float | None = None
    max_utilization_bound: float | None = None
    gap: float | None = None
    csms_out_of_band: int
    max_moves: int | None = None
    fairness: list[dict[str, Any]] = Field(default_factory=list, max_length=10 * MAX_CSMS)


class ComparedCSMCell(_Public):
    hours: float
    utilization: float
    arr: float
    accounts: int


class ComparedCSM(_Public):
    csm: str
    name: str | None = None
    plans: list[ComparedCSMCell | None] = Field(
        max_length=4, description="One entry per plan, in the order asked"
    )
    differs: bool


class PlanComparison(_Public):
    plans: list[ComparedPlan] = Field(max_length=4)
    differs: dict[str, bool] = Field(description="Headline figures that are not the same in every plan")
    csms: list[ComparedCSM] = Field(max_length=MAX_CSMS)


class AuditEventPublic(_Public):
    id: int
    at: dt.datetime
    actor: str
    actor_key_id: int | None = None
    action: str
    plan_id: str | None = None
    account: str | None = None
    csm: str | None = None
    from_csm: str | None = None
    to_csm: str | None = None
    reason: str | None = None
    book_revision: int | None = None
    detail: dict[str, Any] | None = None


class AuditList(_Public):
    items: list[AuditEventPublic] = Field(max_length=MAX_PAGE)
    total: int
    limit: int
    offset: int


class Health(_Public):
    status: str
    database: str | None = None
    migration: str | None = None
    detail: str | None = None
