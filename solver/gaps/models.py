"""The hiring-gap request (the what-if scenario) and the report it gets, as JSON documents."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from solver.errors import BookError, describe_validation_error
from solver.schema import CSM, Level, Tier

GroupBy = Literal["tier_region", "tier"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TierGrowth(_Strict):
    """Growth of one tier per quarter, compounded: 0.05 = +5 % a quarter, -1.0 = the tier is gone."""

    accounts_per_quarter: float = Field(default=0.0, ge=-1.0, le=10.0)
    arr_per_quarter: float = Field(default=0.0, ge=-1.0, le=10.0)


class GapRequest(_Strict):
    """The scenario of a hiring-gap report; the stored book is never changed by it."""

    horizon_quarters: int = Field(default=4, ge=1, le=12)
    growth: dict[Tier, TierGrowth] = Field(default_factory=dict)
    levels: dict[Tier, Level] = Field(default_factory=dict)
    add_csms: list[CSM] = Field(default_factory=list, max_length=10_000)
    remove_csms: list[str] = Field(default_factory=list, max_length=10_000)
    hiring_lead_days: int | None = Field(default=None, ge=0, le=3660)
    ramp_days: int | None = Field(default=None, ge=0, le=3660)
    group_by: GroupBy = "tier_region"
    time_limit_seconds: float = Field(default=10.0, gt=0, le=600)


class PoolProfile(_Strict):
    """The CSM a pool hires: full-time, the policy's capacity, the tier's ARR and book-size caps."""

    capacity_hours: float
    arr_cap: float | None
    max_accounts: int | None


class GapPool(_Strict):
    tier: Tier
    region: str | None
    accounts: int
    arr: float
    demand_hours: float
    capacity_hours: float
    csms: float
    csms_available: float
    csms_needed: int
    csms_needed_lower_bound: int
    proven: bool
    proof: str  # "bounds" (a lower bound met a packing), "cp-sat", or how far it got
    gap: float
    hires: int
    arr_rule_csms: float
    unserved_accounts: int
    profile: PoolProfile
    notes: list[str] = Field(default_factory=list)


class QuarterPool(_Strict):
    tier: Tier
    region: str | None
    accounts: int
    arr: float
    demand_hours: float
    csms_needed: int
    proven: bool
    csms_available: float
    hires_needed: int
    new_hires: int


class Quarter(_Strict):
    quarter: int
    label: str
    start: dt.date
    end: dt.date
    csms_available: float  # the team in full-time equivalents of the profiles, ramps and leavers counted
    hires_to_date: int
    managers_needed_min: int
    pools: list[QuarterPool]


class Managers(_Strict):
    csms_after_hiring: int
    managers_needed_min: int
    managers_needed_max: int
    managers: int
    hires: int


class Hire(_Strict):
    tier: Tier | None
    region: str | None
    count: int = 1
    level: Level
    base_range: tuple[float, float]
    ote_range: tuple[float, float]
    needed_by: dt.date
    hire_by: dt.date
    quarter: str
    late: bool
    reason: str


class TotalCost(_Strict):
    hires: int
    base_min: float
    base_max: float
    ote_min: float
    ote_max: float


class Trigger(_Strict):
    """A hiring trigger of the seeds: whether and when it fires, on what figures."""

    name: str
    fired: bool
    quarter: str | None
    value: float  # when it fired (else today): customers, $50k+ customers, mid-market ARR
    threshold: float
    detail: str
    message: str


class ArrRule(_Strict):
    company_arr: float
    csms: float
    bands: list[tuple[float, float]]


class GapSolverInfo(_Strict):
    seconds: float
    packings: int
    cp_sat_packings: int
    unproven_packings: int
    proven: bool


class GapReport(_Strict):
    as_of: dt.date
    horizon_quarters: int
    group_by: GroupBy
    pools: list[GapPool]
    managers: Managers
    hires: list[Hire]
    total_cost: TotalCost
    quarters: list[Quarter]
    triggers: list[Trigger]
    arr_rule: ArrRule
    notes: list[str]
    solver: GapSolverInfo

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def gap_request_from_data(data: Any) -> GapRequest:
    """A GapRequest from parsed JSON, or a BookError naming the field and the value."""
    if data is None:
        return GapRequest()
    if not isinstance(data, dict):
        raise BookError(f"request: expected a JSON object (got {type(data).__name__})", field="request")
    try:
        return GapRequest.model_validate(data)
    except ValidationError as exc:
        raise BookError(describe_validation_error(exc)) from None
