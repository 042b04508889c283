"""The public shapes of bookplan: Book (input of a solve) and Plan (its result), as in CONTRACT.md.

Every default comes from DOMAIN.md (see `solver.policy`); unknown fields are rejected because they are
usually typos. Cross-reference checks (duplicate ids, unknown CSMs in `current_csm` or `pairs`) live here
too, so every entry point (CLI, HTTP, tests) rejects the same bad books with the same messages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# A segment (tier) is any name of this form: the five built-in ones keep their DOMAIN.md defaults, any
# other must be defined in `policy.tiers` (checked on the whole book, see `check_segments`).
SEGMENT_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Tier = Annotated[str, StringConstraints(pattern=SEGMENT_PATTERN)]
BUILTIN_TIERS: tuple[str, ...] = ("strategic", "enterprise", "mid_market", "smb", "tech_touch")
TIERS = BUILTIN_TIERS  # the built-in segments, in their display order
MAX_SEGMENTS = 100
Health = Literal["green", "yellow", "red"]
HEALTHS: tuple[Health, ...] = ("green", "yellow", "red")
BalanceMetric = Literal["arr", "accounts", "red_accounts", "renewals"]
BALANCE_METRICS: tuple[BalanceMetric, ...] = ("arr", "accounts", "red_accounts", "renewals")
Level = Literal["associate_csm", "csm", "senior_csm", "cs_manager", "director_cs", "vp_cs"]
LEVELS: tuple[Level, ...] = ("associate_csm", "csm", "senior_csm", "cs_manager", "director_cs", "vp_cs")
MatchRule = Literal["hard", "soft", "off"]
Objective = Literal["balance", "min_cost"]
PlanStatus = Literal["optimal", "feasible", "infeasible", "no_solution_in_time"]

# Upper limits on list sizes: a book larger than this is not a CS book but a mistake (or an attack).
MAX_ACCOUNTS = 500_000
MAX_CSMS = 20_000
MAX_PAIRS = 1_000_000
MAX_ID_LENGTH = 200


_ID_FORBIDDEN = re.compile("[/\x00-\x1f\x7f-\x9f]")  # '/' and the control characters (Unicode Cc)


def id_problem(value: str) -> str | None:
    """Why `value` cannot be an id, or None: an id names one account or CSM in a URL path, a CSV cell and a
    CRM, so it is never blank and holds no `/` and no control character (NUL included)."""
    found = _ID_FORBIDDEN.search(value)
    if found is not None:
        if found.group() == "/":
            return "must not contain '/' (an id is one segment of a URL path)"
        return f"must not contain control characters (found U+{ord(found.group()):04X})"
    if not value.strip():
        return "must not be blank"
    return None


def valid_id(value: str) -> str:
    problem = id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def refuse_nul(value: Any) -> Any:
    """NUL fits no text column (PostgreSQL refuses it) and no CS text has one: refused in every string.

    Checks a field's own text (a string, strings in a list, a mapping's string keys and values); nested
    models check their own fields, so the error names the innermost field."""
    texts: list[Any] = [value]
    if isinstance(value, list | tuple):
        texts = list(value)
    elif isinstance(value, dict):
        texts = [*value.keys(), *value.values()]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("must not contain a NUL character (\\x00)")
    return value


# An id is never blank, whitespace-only or padded with spaces (" acme" and "acme" would be two accounts that
# every person reads as one), holds no line break, no '/' and no control character: refused at every entry
# point (JSON, CSV, pages, paths).
ID_PATTERN = r"^\S(?:.*\S)?$"
Id = Annotated[
    str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN), AfterValidator(valid_id)
]
# Upper limits keep every figure far inside what the engine's integer scaling can hold.
MAX_MONEY = 1e12  # a trillion: no account or ARR cap is larger
MAX_HOURS = 1e6  # no account needs, and no CSM gives, a million hours a year


def _not_a_boolean(value: object) -> object:
    # JSON true/false would otherwise pass as 1/0: an amount of money or hours is never a yes/no.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Money = Annotated[float, BeforeValidator(_not_a_boolean), Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Hours = Annotated[float, BeforeValidator(_not_a_boolean), Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)]


# Free text of a book (names, regions, languages): any character but NUL. Ids refuse NUL through `Id`;
# checking only these fields keeps a 20,000-account book's validation as fast as before.
Text = Annotated[str, AfterValidator(refuse_nul)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=False)


class Activity(_Strict):
    """One activity of a tier's service model: `count` times a year, `hours` each."""

    name: Text = Field(min_length=1, max_length=100)
    count: float = Field(ge=0, le=10_000)
    hours: Hours
    first_year_only: bool = False


class TierPolicy(_Strict):
    """One segment's service model and caps. For a built-in segment, any field left out keeps the
    DOMAIN.md default; a segment of the customer's own must give `hours_per_year` or `activities`."""

    hours_per_year: Hours | None = None
    activities: list[Activity] | None = Field(default=None, max_length=100)
    arr_cap: Money | None = None
    max_accounts: int | None = Field(default=None, ge=0)
    label: Text | None = Field(default=None, min_length=1, max_length=100)  # how people write it
    level: Level | None = None  # the level a hire for this segment gets (default csm)
    pooled: bool | None = None  # served by a pooled program, never by a named CSM (like tech_touch)
    aliases: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )  # values of a CRM's segment column that mean this segment


class HealthBands(_Strict):
    """How a 0–100 health score becomes a health: below `red` is red, below `yellow` is yellow, else green."""

    red: float = Field(default=50.0, ge=0, le=100)
    yellow: float = Field(default=75.0, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> HealthBands:
        if self.red > self.yellow:
            raise ValueError(f"red ({self.red:g}) must not be above yellow ({self.yellow:g})")
        return self


HealthFactor = Annotated[float, BeforeValidator(_not_a_boolean), Field(gt=0, le=10, allow_inf_nan=False)]


class HealthHours(_Strict):
    """Multiplier of an account's hours per health (1.0 everywhere: off until set)."""

    green: HealthFactor = 1.0
    yellow: HealthFactor = 1.0
    red: HealthFactor = 1.0


BalanceTolerance = Annotated[float, BeforeValidator(_not_a_boolean), Field(ge=0, le=10, allow_inf_nan=False)]


class Policy(_Strict):
    """How to plan: capacity, freezes, matching rules, objective and solver limits."""

    as_of: dt.date | None = None  # None means today
    capacity_hours: Hours = 1560.0
    tiers: dict[Tier, TierPolicy] = Field(default_factory=dict, max_length=MAX_SEGMENTS)
    health_bands: HealthBands = Field(default_factory=HealthBands)
    health_hours: HealthHours = Field(default_factory=HealthHours)
    # Each key a figure to hold within a band around the pool's mean (value: the band's tolerance as a
    # fraction of the mean), in the order given; see CONTRACT.md "Balance beyond hours".
    balance_metrics: dict[BalanceMetric, BalanceTolerance] = Field(default_factory=dict)
    handoffs_per_week: int = Field(default=5, ge=1, le=10_000)
    region_match: MatchRule = "hard"
    language_match: MatchRule = "hard"
    renewal_freeze_days: int = Field(default=90, ge=0, le=3660)
    onboarding_freeze_days: int = Field(default=90, ge=0, le=3660)
    ramp_days: int = Field(default=90, ge=0, le=3660)
    hiring_lead_days: int = Field(default=60, ge=0, le=3660)
    max_moves: int | None = Field(default=None, ge=0)
    balance_tolerance: float = Field(default=0.10, ge=0, le=1)
    objective: Objective = "balance"
    time_limit_seconds: float = Field(default=30.0, gt=0, le=86_400)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # Same input + same seed + deterministic=true gives the same plan: one CP-SAT worker, deterministic
    # time limits and iteration-bounded search instead of wall-clock ones.
    deterministic: bool = False
    workers: int | None = Field(default=None, ge=1, le=64)


class Account(_Strict):
    id: Id
    name: Text | None = Field(default=None, max_length=500)
    arr: Money
    tier: Tier
    hours_per_year: Hours | None = None
    region: Text | None = Field(default=None, max_length=100)
    language: Text | None = Field(default=None, max_length=50)
    current_csm: Id | None = None
    pinned: bool = False
    renewal_date: dt.date | None = None
    start_date: dt.date | None = None
    parent_id: Id | None = None
    health: Health | None = None  # absent: from health_score, else unknown
    health_score: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    previous_csm: Id | None = None  # set by an approved plan: who had the account before the move
    handoff_on: dt.date | None = None  # set by an approved plan: the day the new CSM takes over


class CSM(_Strict):
    id: Id
    name: Text | None = Field(default=None, max_length=500)
    level: Level | None = None
    tiers: list[Tier] = Field(min_length=1, max_length=MAX_SEGMENTS)
    fte: float = Field(default=1.0, gt=0, le=1.0)
    capacity_hours: Hours | None = None
    arr_cap: Money | None = None
    max_accounts: int | None = Field(default=None, ge=0)
    regions: list[Text] | None = Field(default=None, max_length=100)
    languages: list[Text] | None = Field(default=None, max_length=100)
    accepting_new: bool = True
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    email: Text | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    crm_user_id: Text | None = Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN)

    @field_validator("tiers")
    @classmethod
    def _tiers_unique(cls, tiers: list[Tier]) -> list[Tier]:
        return list(dict.fromkeys(tiers))


class Pair(_Strict):
    """Per account–CSM override: hours when served by that CSM, cost for min_cost, or a ban."""

    account: Id
    csm: Id
    hours: Hours | None = None
    cost: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    allowed: bool = True


class Book(_Strict):
    accounts: list[Account] = Field(max_length=MAX_ACCOUNTS)
    csms: list[CSM] = Field(default_factory=list, max_length=MAX_CSMS)
    policy: Policy = Field(default_factory=Policy)
    pairs: list[Pair] = Field(default_factory=list, max_length=MAX_PAIRS)

    @model_validator(mode="after")
    def _references_resolve(self) -> Book:
        check_book(self)
        return self


def check_book(book: Book) -> None:
    """What holds across a book's parts (raises ValueError naming the field): references, segments,
    identities, balance metrics. Run by the Book model, and again on a book whose policy was replaced."""
    check_references(book)
    check_segments(book)
    check_identities(book)
    check_balance_metrics(book)


def check_references(book: Book) -> None:
    """Duplicate ids and references to unknown accounts or CSMs, named by their position in the book."""
    csm_ids: set[str] = set()
    for i, csm in enumerate(book.csms):
        if csm.id in csm_ids:
            raise ValueError(f"csms[{i}].id: duplicate CSM id {csm.id!r}")
        csm_ids.add(csm.id)
        if csm.start_date and csm.end_date and csm.end_date < csm.start_date:
            raise ValueError(
                f"csms[{i}].end_date: {csm.end_date.isoformat()} is before start_date {csm.start_date.isoformat()}"
            )
    account_ids: set[str] = set()
    for i, account in enumerate(book.accounts):
        if account.id in account_ids:
            raise ValueError(f"accounts[{i}].id: duplicate account id {account.id!r}")
        account_ids.add(account.id)
        if account.current_csm is not None and account.current_csm not in csm_ids:
            raise ValueError(f"accounts[{i}].current_csm: unknown CSM {account.current_csm!r}")
        if account.pinned and account.current_csm is None:
            raise ValueError(f"accounts[{i}].pinned: account {account.id!r} is pinned but has no current_csm")
    seen_pairs: set[tuple[str, str]] = set()
    for i, pair in enumerate(book.pairs):
        if pair.account not in account_ids:
            raise ValueError(f"pairs[{i}].account: unknown account {pair.account!r}")
        if pair.csm not in csm_ids:
            raise ValueError(f"pairs[{i}].csm: unknown CSM {pair.csm!r}")
        if (pair.account, pair.csm) in seen_pairs:
            raise ValueError(f"pairs[{i}]: duplicate pair ({pair.account!r}, {pair.csm!r})")
        seen_pairs.add((pair.account, pair.csm))


def known_segments(policy: Policy) -> list[str]:
    """The built-in segments, then the book's own in the order its policy defines them."""
    return list(BUILTIN_TIERS) + [t for t in policy.tiers if t not in BUILTIN_TIERS]


def check_segments(book: Book) -> None:
    """Every segment a book uses is built in or defined in `policy.tiers` with a service model."""
    for name, definition in book.policy.tiers.items():
        if name not in BUILTIN_TIERS and definition.hours_per_year is None and definition.activities is None:
            raise ValueError(
                f"policy.tiers.{name}: segment {name!r} is not built in, so it needs hours_per_year or activities"
            )
    known = known_segments(book.policy)

    def unknown(where: str, name: str) -> ValueError:
        return ValueError(f"{where}: unknown segment {name!r}; known segments: {', '.join(known)}")

    known_set = set(known)
    for i, account in enumerate(book.accounts):
        if account.tier not in known_set:
            raise unknown(f"accounts[{i}].tier", account.tier)
    for i, csm in enumerate(book.csms):
        for j, segment in enumerate(csm.tiers):
            if segment not in known_set:
                raise unknown(f"csms[{i}].tiers[{j}]", segment)


def check_identities(book: Book) -> None:
    """Two CSMs never share an email or a CRM user id: the CRM must know exactly one owner."""
    emails: dict[str, str] = {}
    crm_ids: dict[str, str] = {}
    for i, csm in enumerate(book.csms):
        if csm.email is not None:
            key = csm.email.casefold()
            if key in emails:
                raise ValueError(f"csms[{i}].email: {csm.email!r} is also the email of CSM {emails[key]!r}")
            emails[key] = csm.id
        if csm.crm_user_id is not None:
            if csm.crm_user_id in crm_ids:
                raise ValueError(
                    f"csms[{i}].crm_user_id: {csm.crm_user_id!r} is also the CRM user of CSM {crm_ids[csm.crm_user_id]!r}"
                )
            crm_ids[csm.crm_user_id] = csm.id


def has_health_data(book: Book) -> bool:
    return any(a.health is not None or a.health_score is not None for a in book.accounts)


def check_balance_metrics(book: Book) -> None:
    """Balancing red accounts needs some health data: with none at all every count is zero."""
    if "red_accounts" in book.policy.balance_metrics and book.accounts and not has_health_data(book):
        raise ValueError(
            "policy.balance_metrics.red_accounts: no account has health or health_score, "
            "so there are no red accounts to balance"
        )


# ---------------------------------------------------------------- Plan


class Assignment(_Strict):
    account: str
    csm: str


class Unassigned(_Strict):
    account: str
    reason: str


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    account: str
    from_: str | None = Field(alias="from")
    to: str
    reason: str
    arr: float = 0.0
    hours: float = 0.0
    handoff_on: dt.date | None = None  # the day the new CSM takes over (on or after as_of)
    wave: int | None = None  # 1, 2, …: one wave a week


class FairnessFigures(_Strict):
    """One figure per CSM of a pool (per capacity hour), summed up: spread, inequality and band breaches."""

    min: float
    max: float
    mean: float
    cv: float
    gini: float
    out_of_band: int


class Fairness(_Strict):
    pool: str
    metric: str
    before: FairnessFigures | None = None  # None: nobody in the pool had an account before
    after: FairnessFigures


class CSMLoad(_Strict):
    csm: str
    hours: float
    capacity_hours: float
    utilization: float
    arr: float
    arr_cap: float | None
    accounts: int
    max_accounts: int | None = None
    pool: str | None = None


class Diagnosis(_Strict):
    """One contradiction among the hard rules, by how much, and the smallest relaxation that fixes it."""

    rule: str
    message: str
    csm: str | None = None
    accounts: list[str] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    excess: float | None = None
    relaxation: str | None = None


class PoolSummary(_Strict):
    """A pool: CSMs who can stand in for one another and the accounts only they can serve."""

    pool: str
    csms: list[str] = Field(max_length=MAX_CSMS)
    accounts: int
    demand_hours: float
    capacity_hours: float
    mean_utilization: float
    max_utilization: float
    max_utilization_bound: float
    status: PlanStatus
    moves: int = 0
    moves_bound: int | None = None
    method: str = ""
    served_arr: float | None = None  # ARR of the pool's accounts the plan serves
    # A proven upper bound on the ARR any plan can serve in this pool (rounded up); None: none proven.
    served_arr_bound: float | None = None


class SolverInfo(_Strict):
    engine: str = "cp-sat"
    version: str
    seconds: float
    seed: int
    input_sha256: str
    deterministic: bool = False
    workers: int = 1


class Plan(_Strict):
    status: PlanStatus
    assignments: list[Assignment] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    unassigned: list[Unassigned] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    moves: list[Move] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    csm_loads: list[CSMLoad] = Field(default_factory=list, max_length=MAX_CSMS)
    max_utilization: float | None = None
    max_utilization_bound: float | None = None
    gap: float | None = None
    total_cost: float | None = None
    cost_bound: float | None = None
    diagnosis: list[Diagnosis] = Field(default_factory=list, max_length=MAX_ACCOUNTS + MAX_CSMS)
    fairness: list[Fairness] = Field(default_factory=list, max_length=10 * MAX_CSMS)
    warnings: list[str] = Field(default_factory=list, max_length=1000)
    pools: list[PoolSummary] = Field(default_factory=list, max_length=MAX_CSMS)
    objective: Objective = "balance"
    as_of: dt.date | None = None
    solver: SolverInfo

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
