"""The hiring-gap report: how many CSMs of which tier and region a book needs, when to hire them, the cost.

Each pool's need is a proven minimum of a three-dimensional bin packing (hours, ARR, accounts) of its
parent groups into CSMs of the pool's profile, with pinned and frozen accounts held by their CSMs; the
hires are the fewest profile CSMs that, added to the team actually there in each quarter of the horizon,
let every account be served. See docs/hiring-gaps.md for the method and the request's fields.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from solver import policy as rules
from solver.errors import BookError, describe_validation_error
from solver.prepare import HOURS_SCALE, scale_capacity, scale_hours
from solver.schema import CSM, Account, Book, Level, Policy, Tier

# "No cap" inside the packing: larger than any scaled book total.
UNCAPPED = 10**15
MANAGER_LEVELS: frozenset[Level] = frozenset({"cs_manager", "director_cs", "vp_cs"})
# Sliding ARR rule of thumb (seeds/003, comment): $2M of ARR per CSM up to $20M, then $2.5M / $3M / $4M
# per CSM for the ARR past $20M / $50M / $100M.
ARR_RULE_BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 2_000_000.0),
    (20_000_000.0, 2_500_000.0),
    (50_000_000.0, 3_000_000.0),
    (100_000_000.0, 4_000_000.0),
)
# Hiring triggers for a company with no CSM yet (seeds/004, 003).
FIRST_CSM_CUSTOMERS = 20
FIRST_CSM_ARR = 500_000.0
LARGE_ACCOUNT_ARR = 50_000.0
LARGE_ACCOUNTS_FOR_CSM = 2
MIDDLE_SEGMENT_ARR = 300_000.0
MIDDLE_SEGMENT_TIER: Tier = "mid_market"
# CP-SAT is only asked when the bounds and the heuristics disagree; each such packing gets at most this.
MAX_SECONDS_PER_PACKING = 2.0

GroupBy = Literal["tier_region", "tier"]


# ---------------------------------------------------------------- request and report


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


# ---------------------------------------------------------------- packing: the proven minimum of CSMs

Vec = tuple[int, int, int]  # scaled hours, whole ARR, accounts


@dataclass(frozen=True)
class Packing:
    """The fewest new bins of the profile that, with the existing bins' free room, hold every item."""

    new_bins: int
    lower_bound: int
    proven: bool
    method: str


def _fit_count(item: Vec, room: Vec) -> int:
    """How many copies of the item fit the room (hot: called for every item type and bin)."""
    hours, arr, count = item
    n = UNCAPPED
    if hours > 0:
        n = room[0] // hours
    if arr > 0:
        n = min(n, room[1] // arr)
    if count > 0:
        n = min(n, room[2] // count)
    return n if n > 0 else 0


def _fits(item: Vec, room: Vec) -> bool:
    return item[0] <= room[0] and item[1] <= room[1] and item[2] <= room[2]


def _l2(sizes: list[tuple[int, int]], capacity: int) -> int:
    """Martello–Toth L2 lower bound on the bins of `capacity` that `sizes` (size, copies) need."""
    sizes = [(w, n) for w, n in sizes if w > 0 and n > 0]
    if not sizes or capacity >= UNCAPPED or capacity <= 0:
        return 0
    best = math.ceil(sum(w * n for w, n in sizes) / capacity)
    alphas = {0} | {w for w, _ in sizes if 2 * w <= capacity}
    for alpha in alphas:
        j1 = sum(n for w, n in sizes if w > capacity - alpha)
        j2n = sum(n for w, n in sizes if capacity - alpha >= w and 2 * w > capacity)
        j2w = sum(w * n for w, n in sizes if capacity - alpha >= w and 2 * w > capacity)
        j3w = sum(w * n for w, n in sizes if 2 * w <= capacity and w >= alpha)
        spare = j2n * capacity - j2w
        best = max(best, j1 + j2n + max(0, math.ceil((j3w - spare) / capacity)))
    return best


def _lower_bound(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> int:
    """The fewest new bins any packing needs: volume per dimension and Martello–Toth L2."""
    # Items no existing bin can take go to new bins, which they pack at best as L2 says.
    must_new = [(v, n) for v, n in items.items() if not any(_fits(v, e) for e in existing)]
    bound = 0
    for d in range(3):
        cap = profile[d]
        if cap >= UNCAPPED or cap <= 0:
            continue
        total = sum(v[d] * n for v, n in items.items())
        room = sum(min(e[d], UNCAPPED) for e in existing)
        bound = max(bound, math.ceil(max(0, total - room) / cap))
        bound = max(bound, _l2([(v[d], n) for v, n in must_new], cap))
        if all(e[d] <= cap for e in existing):
            bound = max(bound, _l2([(v[d], n) for v, n in items.items()], cap) - len(existing))
    return bound


def _first_fit(order: list[tuple[Vec, int]], existing: list[Vec], profile: Vec) -> int:
    """First-fit (in the given order) into the existing bins, opening profile bins as needed."""
    rooms = [list(e) for e in existing]
    opened = 0
    for item, count in order:
        left = count
        for room in rooms:
            take = min(left, _fit_count(item, (room[0], room[1], room[2])))
            if take:
                for d in range(3):
                    room[d] -= take * item[d]
                left -= take
                if left == 0:
                    break
        per_bin = _fit_count(item, profile)
        while left > 0:
            take = min(left, per_bin)
            rooms.append([profile[d] - take * item[d] for d in range(3)])
            opened += 1
            left -= take
    return opened


def _fullest_subset(chunks: list[tuple[int, int, Vec]], room: int) -> list[int]:
    """Indices of chunks whose hours sum to the most that fits `room` (a subset-sum on an int bitset)."""
    full = (1 << (room + 1)) - 1
    reach = 1
    before: list[int] = []
    for size, _, _ in chunks:
        before.append(reach)
        reach = (reach | (reach << size)) & full
    target = reach.bit_length() - 1
    chosen = []
    for i in range(len(chunks) - 1, -1, -1):
        if (before[i] >> target) & 1:
            continue
        chosen.append(i)
        target -= chunks[i][0]
    return chosen


def _fill_bins(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> int | None:
    """Bins filled one at a time as full as their hours allow (largest item first, then a subset sum).

    First-fit-decreasing leaves a few percent of every CSM idle when accounts are many and small; filling
    each bin exactly usually reaches the hours bound and so proves the minimum without CP-SAT. Only for
    pools where hours are what binds (no ARR cap in play); None when it does not apply.
    """
    if profile[1] < UNCAPPED or any(e[1] < UNCAPPED for e in existing) or any(v[0] <= 0 for v in items):
        return None
    unit = math.gcd(profile[0], *(v[0] for v in items), *(e[0] for e in existing if e[0] > 0))
    if profile[0] // unit > 200_000:
        return None
    left = dict(items)
    opened = 0

    def fill(room: Vec, seed_largest: bool) -> None:
        hours, count = room[0] // unit, room[2]
        if seed_largest:
            largest = max((v for v, n in left.items() if n), key=lambda v: (v[0], v[2]))
            left[largest] -= 1
            hours -= largest[0] // unit
            count -= largest[2]
        chunks: list[tuple[int, int, Vec]] = []
        for v, n in left.items():
            if n == 0 or v[0] // unit > hours or v[2] > count:
                continue
            k = 1
            while n > 0:  # binary split of n copies: any count 0..n is a sum of the chunks
                take = min(k, n)
                chunks.append((take * v[0] // unit, take, v))
                n -= take
                k *= 2
        taken: dict[Vec, int] = defaultdict(int)
        for i in _fullest_subset(chunks, hours):
            taken[chunks[i][2]] += chunks[i][1]
        # The subset sum ignores the book-size cap: give back the smallest accounts until it holds.
        excess = sum(v[2] * k for v, k in taken.items()) - count
        for v in sorted(taken, key=lambda v: v[0] / max(1, v[2])):
            if excess <= 0:
                break
            back = min(taken[v], math.ceil(excess / max(1, v[2])))
            taken[v] -= back
            excess -= back * v[2]
        for v, k in taken.items():
            left[v] -= k

    for room in sorted(existing, reverse=True):
        fill(room, seed_largest=False)
    while any(left.values()):
        opened += 1
        fill(profile, seed_largest=True)
    return opened


def _orders(items: dict[Vec, int], profile: Vec) -> list[list[tuple[Vec, int]]]:
    """Item types largest first, by three measures of "large" (multi-dimensional FFD has no single one)."""

    def shares(kv: tuple[Vec, int]) -> list[float]:
        return [kv[0][d] / profile[d] if 0 < profile[d] < UNCAPPED else 0.0 for d in range(3)]

    def largest_share(kv: tuple[Vec, int]) -> tuple[float, Vec]:
        return max(shares(kv)), kv[0]

    def total_share(kv: tuple[Vec, int]) -> tuple[float, Vec]:
        return sum(shares(kv)), kv[0]

    def hours(kv: tuple[Vec, int]) -> Vec:
        return kv[0]

    return [sorted(items.items(), key=key, reverse=True) for key in (largest_share, total_share, hours)]


def _cp_sat_packing(
    items: dict[Vec, int],
    existing: list[Vec],
    profile: Vec,
    lower: int,
    upper: int,
    seconds: float,
    seed: int,
) -> tuple[int, int, bool]:
    """CP-SAT min-bins over item *types* (identical items aggregated into integer counts)."""
    model = cp_model.CpModel()
    bins = [*existing, *([profile] * upper)]
    types = list(items.items())
    used = [model.new_bool_var(f"used_{b}") for b in range(upper)]
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for t, (item, count) in enumerate(types):
        for b, room in enumerate(bins):
            cap = min(count, _fit_count(item, room))
            if cap > 0:
                x[t, b] = model.new_int_var(0, cap, f"x_{t}_{b}")
    # Every account is served, in one bin (its parent group together: a group is one item).
    for t, (_, count) in enumerate(types):
        model.add(sum(x[t, b] for b in range(len(bins)) if (t, b) in x) == count)
    # No bin goes past its hours, ARR or book-size room; a new bin has room only once it is opened.
    for b, room in enumerate(bins):
        for d in range(3):
            if room[d] >= UNCAPPED:
                continue
            load = sum(types[t][0][d] * x[t, b] for t in range(len(types)) if (t, b) in x and types[t][0][d])
            if isinstance(load, int):
                continue
            if b < len(existing):
                model.add(load <= room[d])
            else:
                model.add(load <= room[d] * used[b - len(existing)])
        if b >= len(existing):
            for t in range(len(types)):
                if (t, b) in x:
                    model.add(x[t, b] == 0).only_enforce_if(used[b - len(existing)].Not())
    # New bins are opened in order, which removes their interchangeable permutations.
    for b in range(upper - 1):
        model.add_implication(used[b + 1], used[b])
    model.add(sum(used) >= lower)
    model.minimize(sum(used))
    solver = cp_model.CpSolver()
    # One worker and a deterministic time limit: the same book gives the same report on a busy machine;
    # the wall-clock limit is only a safety net.
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = max(0.05, seconds)
    solver.parameters.max_time_in_seconds = max(0.2, 4 * seconds)
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status == cp_model.OPTIMAL:
        value = round(solver.objective_value)
        return value, value, True
    bound = max(lower, math.ceil(solver.best_objective_bound - 1e-6))
    if status == cp_model.FEASIBLE:
        value = round(solver.objective_value)
        return value, bound, value <= bound
    if status == cp_model.INFEASIBLE:
        # Not even `upper` bins: cannot happen with a valid first-fit upper bound; keep it honest anyway.
        return upper, upper, False
    return upper, bound, False


def _relevant(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> tuple[bool, bool]:
    """Whether the ARR cap and the book-size cap can bind at all in this pool.

    A cap that no bin can reach (its largest possible load stays under the smallest room) is dropped,
    so identical-hour items merge into one type and large pools stay small models.
    """
    rooms = [*existing, profile]
    most_hours = max(r[0] for r in rooms)
    # k: the most items any bin can hold by hours (the smallest items first).
    k = 0
    used = 0
    for v, n in sorted(items.items()):
        fit = n if v[0] == 0 else min(n, (most_hours - used) // v[0])
        k += fit
        used += fit * v[0]
        if fit < n:
            break

    def top(d: int) -> int:
        total, left = 0, k
        for v, n in sorted(items.items(), key=lambda kv: kv[0][d], reverse=True):
            take = min(n, left)
            total += take * v[d]
            left -= take
            if left == 0:
                break
        return total

    arr_binds = top(1) > min(r[1] for r in rooms)
    count_binds = top(2) > min(r[2] for r in rooms)
    return arr_binds, count_binds


class _Packer:
    """Solves packings under one time budget and remembers them (quarters often repeat a pool's packing)."""

    def __init__(self, budget_seconds: float, seed: int) -> None:
        self.deadline = time.monotonic() + budget_seconds
        self.seed = seed
        self.cache: dict[tuple[Any, ...], Packing] = {}
        self.packings = 0
        self.cp_sat = 0
        self.unproven = 0

    def pack(self, items: dict[Vec, int], existing: list[Vec], profile: Vec) -> Packing:
        items = {v: n for v, n in items.items() if n > 0}
        # Callers give each group larger than a CSM a CSM of its own; counted here too, so no loop can stall.
        too_big = sum(n for v, n in items.items() if not _fits(v, profile))
        if too_big:
            rest = self.pack({v: n for v, n in items.items() if _fits(v, profile)}, existing, profile)
            return Packing(rest.new_bins + too_big, rest.lower_bound + too_big, rest.proven, rest.method)
        if not items:
            return Packing(0, 0, True, "empty")
        arr_binds, count_binds = _relevant(items, existing, profile)
        if not arr_binds or not count_binds:
            merged: dict[Vec, int] = defaultdict(int)
            for v, n in items.items():
                merged[(v[0], v[1] if arr_binds else 0, v[2] if count_binds else 0)] += n
            items = dict(merged)

            def drop(r: Vec) -> Vec:
                return (r[0], r[1] if arr_binds else UNCAPPED, r[2] if count_binds else UNCAPPED)

            existing = [drop(e) for e in existing]
            profile = drop(profile)
        key = (tuple(sorted(items.items())), tuple(sorted(existing)), profile)
        if key in self.cache:
            return self.cache[key]
        self.packings += 1
        lower = _lower_bound(items, existing, profile)
        upper = min(_first_fit(order, existing, profile) for order in _orders(items, profile))
        if upper > lower:
            filled = _fill_bins(items, existing, profile)
            upper = min(upper, filled) if filled is not None else upper
        if upper <= lower:
            result = Packing(upper, upper, True, "bounds")
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0.05:
                result = Packing(upper, lower, False, "first-fit-decreasing (time budget spent)")
            else:
                self.cp_sat += 1
                value, bound, proven = _cp_sat_packing(
                    items, existing, profile, lower, upper, min(remaining, MAX_SECONDS_PER_PACKING), self.seed
                )
                result = Packing(value, bound, proven, "cp-sat")
        self.unproven += not result.proven
        self.cache[key] = result
        return result


def _served_by_team(items: dict[Vec, int], existing: list[Vec]) -> int:
    """Accounts the team can carry, smallest first: a greedy count (the engine's plan is exact)."""
    rooms = [list(e) for e in existing]
    served = 0
    for item, count in sorted(items.items()):
        left = count
        for room in rooms:
            take = min(left, _fit_count(item, (room[0], room[1], room[2])))
            if take:
                for d in range(3):
                    room[d] -= take * item[d]
                left -= take
                served += take * item[2]
                if left == 0:
                    break
    return served


# ---------------------------------------------------------------- the book over the horizon


@dataclass
class _Acct:
    account: Account
    hours: float
    arr: float
    frozen_to: str | None  # the CSM the account must stay with this quarter
    group: str  # accounts of one group go to one CSM: the parent company, else the account alone


@dataclass
class _Seat:
    """A CSM's share of one pool: `weight` of their time, capacity and caps."""

    csm: CSM
    weight: float


def _quarter_starts(today: dt.date, horizon: int) -> list[dt.date]:
    month = ((today.month - 1) // 3 + 1) * 3 + 1
    year = today.year + (month > 12)
    month = month - 12 if month > 12 else month
    starts = [today]
    for _ in range(horizon + 1):
        starts.append(dt.date(year, month, 1))
        month += 3
        if month > 12:
            month -= 12
            year += 1
    return starts


def _quarter_label(start: dt.date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _availability(csm: CSM, start: dt.date, end: dt.date, ramp_days: int) -> float:
    """Average share of full speed over [start, end): 0 before start_date and from end_date, ramp between."""
    return _average_speed(csm.start_date, csm.end_date, start, end, ramp_days)


@functools.lru_cache(maxsize=4096)
def _average_speed(
    start_date: dt.date | None, end_date: dt.date | None, start: dt.date, end: dt.date, ramp_days: int
) -> float:
    days = max(1, (end - start).days)
    total = 0.0
    for i in range(days):
        day = start + dt.timedelta(days=i)
        if end_date is not None and day >= end_date:
            continue
        if start_date is None:
            total += 1.0
            continue
        since = (day - start_date).days
        if since < 0:
            continue
        total += 1.0 if ramp_days == 0 or since >= ramp_days else since / ramp_days
    return total / days


def arr_rule_csms(company_arr: float) -> float:
    """CSMs the sliding ARR rule of thumb gives a company: each band's ARR over that band's ARR per CSM."""
    csms = 0.0
    for i, (floor, per_csm) in enumerate(ARR_RULE_BANDS):
        ceiling = ARR_RULE_BANDS[i + 1][0] if i + 1 < len(ARR_RULE_BANDS) else math.inf
        if company_arr > floor:
            csms += (min(company_arr, ceiling) - floor) / per_csm
    return csms


def _scenario(book: Book, request: GapRequest) -> Book:
    """The book as the what-if says: CSMs removed (their accounts freed) and added, policy overrides."""
    known = {c.id for c in book.csms}
    for i, csm_id in enumerate(request.remove_csms):
        if csm_id not in known:
            raise BookError(
                f"remove_csms[{i}]: unknown CSM {csm_id!r}", field=f"remove_csms[{i}]", value=csm_id
            )
    known_segments = rules.segment_order(book.policy)
    for what, names in (("levels", request.levels), ("growth", request.growth)):
        for name in names:
            if name not in known_segments:
                raise BookError(
                    f"{what}.{name}: unknown segment {name!r}; known segments: {', '.join(known_segments)}",
                    field=f"{what}.{name}",
                    value=name,
                )
    removed = set(request.remove_csms)
    kept = [c for c in book.csms if c.id not in removed]
    ids = {c.id for c in kept}
    for i, csm in enumerate(request.add_csms):
        if csm.id in ids:
            raise BookError(
                f"add_csms[{i}].id: duplicate CSM id {csm.id!r}", field=f"add_csms[{i}].id", value=csm.id
            )
        if csm.start_date and csm.end_date and csm.end_date < csm.start_date:
            raise BookError(
                f"add_csms[{i}].end_date: {csm.end_date.isoformat()} is before start_date "
                f"{csm.start_date.isoformat()}",
                field=f"add_csms[{i}].end_date",
            )
        ids.add(csm.id)
    accounts = [
        a.model_copy(update={"current_csm": None, "pinned": False}) if a.current_csm in removed else a
        for a in book.accounts
    ]
    overrides: dict[str, Any] = {}
    if request.hiring_lead_days is not None:
        overrides["hiring_lead_days"] = request.hiring_lead_days
    if request.ramp_days is not None:
        overrides["ramp_days"] = request.ramp_days
    policy = book.policy.model_copy(update={**overrides, "as_of": rules.as_of(book.policy)})
    pairs = [p for p in book.pairs if p.csm not in removed]
    # Everything was validated already (book and request); construct without re-validating 20,000 accounts.
    return Book.model_construct(
        accounts=accounts, csms=[*kept, *request.add_csms], policy=policy, pairs=pairs
    )


def _pools_by_region(policy: Policy, group_by: GroupBy) -> bool:
    # Regions separate CSMs only when the region rule is hard.
    return group_by == "tier_region" and policy.region_match == "hard"


def _pool_key(account: Account, policy: Policy, group_by: GroupBy) -> tuple[Tier, str | None]:
    return (account.tier, account.region if _pools_by_region(policy, group_by) else None)


def _eligible(csm: CSM, key: tuple[Tier, str | None]) -> bool:
    tier, region = key
    return tier in csm.tiers and (region is None or csm.regions is None or region in csm.regions)


def _seats(
    book: Book, keys: list[tuple[Tier, str | None]], group_by: GroupBy
) -> dict[tuple[Tier, str | None], list[_Seat]]:
    """Each CSM split over the pools they can serve, by where their current hours are (else evenly)."""
    hours_by: dict[str, dict[tuple[Tier, str | None], float]] = defaultdict(lambda: defaultdict(float))
    for account in book.accounts:
        if account.current_csm is not None:
            key = _pool_key(account, book.policy, group_by)
            hours_by[account.current_csm][key] += rules.account_hours(account, book.policy) or 1e-6
    seats: dict[tuple[Tier, str | None], list[_Seat]] = defaultdict(list)
    for csm in book.csms:
        mine = {k: h for k, h in hours_by.get(csm.id, {}).items() if _eligible(csm, k)}
        if not mine:
            options = [k for k in keys if _eligible(csm, k)]
            if not options:
                # A CSM with nothing they may serve shows as a surplus in their first tier (and region).
                by_region = _pools_by_region(book.policy, group_by)
                region = csm.regions[0] if csm.regions and by_region else None
                options = [(csm.tiers[0], region)]
            mine = dict.fromkeys(options, 1.0)
        total = sum(mine.values())
        for k, h in mine.items():
            seats[k].append(_Seat(csm, h / total))
    return seats


def _median_template(accounts: list[Account]) -> Account:
    ordered = sorted(accounts, key=lambda a: (a.arr, a.id))
    return ordered[len(ordered) // 2]


def _removal_order(accounts: list[Account], template: Account) -> list[int]:
    """Which accounts shrinking removes first: free single accounts most like the median, then the rest."""

    def rank(i: int) -> tuple[int, float, str]:
        a = accounts[i]
        kind = 2 if a.pinned else (1 if a.parent_id else 0)
        return (kind, abs(a.arr - template.arr), a.id)

    return sorted(range(len(accounts)), key=rank)


@dataclass
class _PoolHistory:
    key: tuple[Tier, str | None]
    base_accounts: list[Account]
    template: Account | None
    removal: list[int]


def _accounts_in_quarter(
    hist: _PoolHistory, q: int, request: GapRequest, policy_q: Policy, present: set[str]
) -> list[_Acct]:
    tier = hist.key[0]
    growth = request.growth.get(tier)
    n0 = len(hist.base_accounts)
    accounts: list[Account] = list(hist.base_accounts)
    new = 0
    if growth is not None and n0:
        target = round(n0 * (1 + growth.accounts_per_quarter) ** q)
        if target < n0:
            dropped = set(hist.removal[: n0 - target])
            accounts = [a for i, a in enumerate(accounts) if i not in dropped]
        new = max(0, target - n0)
    # New customers look like the pool's median account and are in their first contract year.
    template = None
    if new and hist.template is not None:
        template = hist.template.model_copy(
            update={
                "id": f"new-{tier}-{hist.key[1] or 'any'}-{q}",
                "current_csm": None,
                "pinned": False,
                "parent_id": None,
                "renewal_date": None,
                "start_date": policy_q.as_of,
            }
        )
    scale = 1.0
    if growth is not None and (accounts or template):
        base_arr = sum(a.arr for a in hist.base_accounts)
        now_arr = sum(a.arr for a in accounts) + (new * template.arr if template else 0.0)
        if now_arr > 0:
            scale = base_arr * (1 + growth.arr_per_quarter) ** q / now_arr
    out = []
    for a in accounts:
        holder = a.current_csm if a.current_csm in present and rules.freeze_reason(a, policy_q) else None
        out.append(
            _Acct(a, rules.account_hours(a, policy_q), a.arr * scale, holder, a.parent_id or f"\0{a.id}")
        )
    if template is not None:
        hours = rules.account_hours(template, policy_q)
        out.extend(
            _Acct(template, hours, template.arr * scale, None, f"\0{template.id}-{i}") for i in range(new)
        )
    return out


@dataclass
class _PoolQuarter:
    accounts: int
    arr: float
    demand_hours: float
    needed: Packing
    needed_csms: int
    hires: Packing
    hires_needed: int
    available: float
    unserved: int
    notes: list[str]


def _profile(policy: Policy, tier: Tier) -> tuple[PoolProfile, Vec]:
    resolved = rules.resolve_tier(policy, tier)
    profile = PoolProfile(
        capacity_hours=policy.capacity_hours, arr_cap=resolved.arr_cap, max_accounts=resolved.max_accounts
    )
    vec = (
        scale_capacity(policy.capacity_hours),
        UNCAPPED if resolved.arr_cap is None else math.floor(resolved.arr_cap),
        UNCAPPED if resolved.max_accounts is None else resolved.max_accounts,
    )
    return profile, vec


def _groups(accts: list[_Acct], notes: list[str]) -> list[tuple[Vec, str | None, list[_Acct]]]:
    """Parent groups (one CSM for all the accounts of a parent), each with the CSM that holds it, if any."""
    groups: list[tuple[Vec, str | None, list[_Acct]]] = []
    by_parent: dict[str, list[_Acct]] = defaultdict(list)
    for a in accts:
        if a.account.parent_id is None:
            groups.append(((scale_hours(a.hours), round(a.arr), 1), a.frozen_to, [a]))
        else:
            by_parent[a.group].append(a)
    for members in by_parent.values():
        holders = list(dict.fromkeys(m.frozen_to for m in members if m.frozen_to))
        if len(holders) > 1:
            notes.append(
                f"parent {members[0].account.parent_id}: accounts frozen with {', '.join(holders)}; "
                f"kept with {holders[0]}"
            )
        vec = (
            sum(scale_hours(m.hours) for m in members),
            sum(round(m.arr) for m in members),
            len(members),
        )
        groups.append((vec, holders[0] if holders else None, members))
    return groups


def _solve_pool_quarter(
    packer: _Packer,
    accts: list[_Acct],
    seats: list[_Seat],
    profile_vec: Vec,
    policy: Policy,
    start: dt.date,
    end: dt.date,
    count_unserved: bool,
) -> _PoolQuarter:
    notes: list[str] = []
    groups = _groups(accts, notes)
    seat_by_id = {s.csm.id: s for s in seats}
    # The team this quarter: each CSM's room in this pool, their average speed over the quarter counted.
    team: dict[str, list[int]] = {}
    available = 0.0
    for seat in seats:
        share = _availability(seat.csm, start, end, policy.ramp_days) * seat.weight
        if share <= 0:
            continue
        full = rules.full_capacity_hours(seat.csm, policy)
        arr_cap = rules.csm_arr_cap(seat.csm, policy)
        max_accounts = rules.csm_max_accounts(seat.csm, policy)
        available += share * full / policy.capacity_hours if policy.capacity_hours else 0.0
        team[seat.csm.id] = [
            math.floor(scale_capacity(full) * share),
            UNCAPPED if arr_cap is None else math.floor(arr_cap * seat.weight),
            UNCAPPED if max_accounts is None else math.floor(max_accounts * seat.weight),
        ]
    # What a pinned CSM holds in a profile bin (the need) and in their own room (the hires).
    profile_held: dict[str, list[int]] = {}
    free: dict[Vec, int] = defaultdict(int)
    free_for_team: dict[Vec, int] = defaultdict(int)
    dedicated = 0
    dedicated_hires = 0
    for vec, holder, members in groups:
        oversize = not _fits(vec, profile_vec)
        current = members[0].account.current_csm
        # A CSM not accepting new accounts keeps the ones they have: for the team, those are held too.
        keeper = holder if holder in team else None
        if (
            keeper is None
            and current in team
            and current is not None
            and not seat_by_id[current].csm.accepting_new
        ):
            keeper = current
        if keeper is not None:
            room = team[keeper]
            for d in range(3):
                room[d] -= vec[d]
        if holder is not None:
            held = profile_held.setdefault(holder, [0, 0, 0])
            for d in range(3):
                held[d] += vec[d]
        elif oversize:
            # A group larger than a whole CSM needs a CSM of its own (the plan will flag it too).
            dedicated += 1
            parent = members[0].account.parent_id
            what = (
                f"parent {parent} ({len(members)} accounts)" if parent else f"account {members[0].account.id}"
            )
            notes.append(
                f"{what}: {vec[0] / HOURS_SCALE:,.0f} h, ${vec[1]:,} ARR is more than one CSM of the pool's "
                f"profile can carry; counted as one CSM of its own"
            )
        else:
            free[vec] += 1
        if keeper is not None:
            continue
        if oversize:
            # Its current CSM, if still here, is that CSM; else it is a hire of its own.
            if current in team and current not in profile_held:
                team.pop(current)
            else:
                dedicated_hires += 1
        else:
            free_for_team[vec] += 1
    pinned_bins: list[Vec] = []
    for holder, held in profile_held.items():
        spare = (profile_vec[0] - held[0], profile_vec[1] - held[1], profile_vec[2] - held[2])
        if min(spare) < 0:
            notes.append(f"{holder}: pinned and frozen accounts alone exceed one CSM of the pool's profile")
        pinned_bins.append((max(0, spare[0]), max(0, spare[1]), max(0, spare[2])))
    needed = packer.pack(dict(free), pinned_bins, profile_vec)
    existing: list[Vec] = []
    for csm_id, room in team.items():
        seat = seat_by_id[csm_id]
        if min(room) < 0:
            notes.append(f"{csm_id}: over capacity with the accounts frozen with them")
        if not seat.csm.accepting_new:
            continue  # keeps the accounts they have, takes no others
        existing.append((max(0, room[0]), max(0, room[1]), max(0, room[2])))
    hires = packer.pack(dict(free_for_team), existing, profile_vec)
    unserved = 0
    if count_unserved:
        unserved = sum(v[2] * n for v, n in free_for_team.items()) - _served_by_team(
            dict(free_for_team), existing
        )
    return _PoolQuarter(
        accounts=len(accts),
        arr=sum(a.arr for a in accts),
        demand_hours=sum(a.hours for a in accts),
        needed=needed,
        needed_csms=len(pinned_bins) + dedicated + needed.new_bins,
        hires=hires,
        hires_needed=hires.new_bins + dedicated_hires,
        available=available,
        unserved=unserved,
        notes=notes,
    )


# ---------------------------------------------------------------- triggers for a company with no CSM


@dataclass
class _TriggerState:
    name: str
    threshold: float
    message: str
    fired_quarter: int | None = None
    value: float = 0.0
    detail: str = ""


def _evaluate_triggers(
    per_quarter: list[dict[tuple[Tier, str | None], list[_Acct]]],
) -> tuple[list[_TriggerState], list[dict[tuple[Tier, str | None], int]]]:
    """The seeds' hiring triggers, quarter by quarter, and the floor of hires each one puts on a pool."""
    first = _TriggerState(
        "first_csm", FIRST_CSM_CUSTOMERS, "first CSM at 20–30 paying customers or $500k ARR, whichever first"
    )
    large = _TriggerState(
        "large_accounts",
        LARGE_ACCOUNTS_FOR_CSM,
        "a CSM for large accounts as soon as two $50k+ customers exist",
    )
    middle = _TriggerState(
        "middle_segment", MIDDLE_SEGMENT_ARR, "a CSM for the middle segment at $300k–$500k of segment revenue"
    )
    floors: list[dict[tuple[Tier, str | None], int]] = []
    floor: dict[tuple[Tier, str | None], int] = {}
    for q, pools in enumerate(per_quarter):
        everyone = [a for accts in pools.values() for a in accts]
        customers = len(everyone)
        arr = sum(a.arr for a in everyone)
        big = [a for a in everyone if a.arr >= LARGE_ACCOUNT_ARR]
        middle_arr = sum(a.arr for a in everyone if a.account.tier == MIDDLE_SEGMENT_TIER)
        # The figures shown are today's, or the quarter's that fired the trigger.
        if q == 0 or (
            first.fired_quarter is None and (customers >= FIRST_CSM_CUSTOMERS or arr >= FIRST_CSM_ARR)
        ):
            first.value, first.detail = customers, f"{customers} customers, ${arr:,.0f} ARR"
        if q == 0 or (large.fired_quarter is None and len(big) >= LARGE_ACCOUNTS_FOR_CSM):
            large.value, large.detail = len(big), f"{len(big)} customers of $50k+ ARR"
        if q == 0 or (middle.fired_quarter is None and middle_arr >= MIDDLE_SEGMENT_ARR):
            middle.value, middle.detail = middle_arr, f"${middle_arr:,.0f} of mid-market ARR"
        if first.fired_quarter is None and (customers >= FIRST_CSM_CUSTOMERS or arr >= FIRST_CSM_ARR):
            first.fired_quarter = q
        if large.fired_quarter is None and len(big) >= LARGE_ACCOUNTS_FOR_CSM:
            large.fired_quarter = q
            counts: dict[tuple[Tier, str | None], int] = defaultdict(int)
            for key, accts in pools.items():
                counts[key] = sum(1 for a in accts if a.arr >= LARGE_ACCOUNT_ARR)
            best = max(counts, key=lambda k: (counts[k], sum(a.arr for a in pools[k]), str(k)))
            floor[best] = max(floor.get(best, 0), 1)
        if middle.fired_quarter is None and middle_arr >= MIDDLE_SEGMENT_ARR:
            middle.fired_quarter = q
            mids = [k for k in pools if k[0] == MIDDLE_SEGMENT_TIER]
            best = max(mids, key=lambda k: (sum(a.arr for a in pools[k]), str(k)))
            floor[best] = max(floor.get(best, 0), 1)
        if first.fired_quarter is not None and not floor and pools:
            best = max(pools, key=lambda k: (sum(a.arr for a in pools[k]), len(pools[k]), str(k)))
            floor[best] = 1
        floors.append(dict(floor))
    return [first, large, middle], floors


# ---------------------------------------------------------------- the report


def _ordered_keys(policy: Policy, keys: Iterable[tuple[Tier, str | None]]) -> list[tuple[Tier, str | None]]:
    order = rules.segment_order(policy)
    return sorted(keys, key=lambda k: (order.get(k[0], len(order)), k[0], k[1] or ""))


PoolKey = tuple[Tier, str | None]


@dataclass
class _Horizon:
    """The scenario worked out quarter by quarter: each pool's accounts, need and hires per quarter."""

    scenario: Book
    policy: Policy
    today: dt.date
    starts: list[dt.date]  # quarter q runs from starts[q] to starts[q + 1] (quarter 0 starts today)
    keys: list[PoolKey]
    seats: dict[PoolKey, list[_Seat]]
    accounts: list[dict[PoolKey, list[_Acct]]]
    results: list[dict[PoolKey, _PoolQuarter]]

    @property
    def quarters(self) -> range:
        return range(len(self.results))


def _work_out_horizon(scenario: Book, request: GapRequest, packer: _Packer) -> _Horizon:
    policy = scenario.policy
    today = rules.as_of(policy)
    starts = _quarter_starts(today, request.horizon_quarters)
    by_pool: dict[PoolKey, list[Account]] = defaultdict(list)
    for account in scenario.accounts:
        if rules.is_pooled_segment(policy, account.tier):
            continue  # a pooled program serves it: no named CSM to hire
        by_pool[_pool_key(account, policy, request.group_by)].append(account)
    seats = _seats(scenario, list(by_pool), request.group_by)
    keys = _ordered_keys(policy, set(by_pool) | set(seats))
    histories = {}
    for key in keys:
        base = by_pool.get(key, [])
        template = _median_template(base) if base else None
        histories[key] = _PoolHistory(key, base, template, _removal_order(base, template) if template else [])
    horizon = _Horizon(scenario, policy, today, starts, keys, dict(seats), [], [])
    for q in range(request.horizon_quarters + 1):
        start, end = starts[q], starts[q + 1]
        policy_q = policy.model_copy(update={"as_of": start})
        # A CSM leaving during the quarter no longer holds pins: their accounts must move this quarter.
        present = {c.id for c in scenario.csms if c.end_date is None or c.end_date >= end}
        present |= {c.id for c in scenario.csms if q == 0 and not rules.csm_has_left(c, today)}
        accounts = {k: _accounts_in_quarter(histories[k], q, request, policy_q, present) for k in keys}
        horizon.accounts.append(accounts)
        horizon.results.append(
            {
                k: _solve_pool_quarter(
                    packer,
                    accounts[k],
                    seats.get(k, []),
                    _profile(policy, k[0])[1],
                    policy,
                    start,
                    end,
                    q == 0,
                )
                for k in keys
            }
        )
    return horizon


def _csm_hires_needed(
    h: _Horizon, no_csms: bool, floors: list[dict[PoolKey, int]]
) -> dict[PoolKey, list[int]]:
    """Hires each pool needs on board by each quarter, cumulative (a hire stays)."""
    cumulative: dict[PoolKey, list[int]] = {}
    for key in h.keys:
        done = 0
        row = []
        for q in h.quarters:
            need = h.results[q][key].hires_needed
            if no_csms:
                # Each fired trigger opens one pool: its first CSM carries at least that pool's workload;
                # the other pools' accounts stay with the founders (or that first CSM) until their turn.
                need = max(need, floors[q][key]) if key in floors[q] else 0
            done = max(done, need)
            row.append(done)
        cumulative[key] = row
    return cumulative


def _team_size(h: _Horizon, q: int, cumulative: dict[PoolKey, list[int]]) -> int:
    """Individual contributors on the team in quarter q: CSMs there at all that quarter, plus the hires."""
    start, end = h.starts[q], h.starts[q + 1]
    there = sum(
        1
        for c in h.scenario.csms
        if c.level not in MANAGER_LEVELS and _availability(c, start, end, h.policy.ramp_days) > 0
    )
    return there + sum(cumulative[k][q] for k in h.keys)


def _manager_hires(h: _Horizon, cumulative: dict[PoolKey, list[int]], lead: int) -> list[Hire]:
    """One CS Manager per 5–8 CSMs: a manager hire when the team outgrows its managers (from five CSMs)."""
    low, high = rules.CSMS_PER_MANAGER
    hires: list[Hire] = []
    done = 0
    for q in h.quarters:
        team = _team_size(h, q, cumulative)
        end = h.starts[q + 1]
        managers = sum(
            1
            for c in h.scenario.csms
            if c.level == "cs_manager" and (c.end_date is None or c.end_date >= end)
        )
        # A team under five CSMs reports to the head of CS: no manager hire for it.
        want = max(done, math.ceil(team / high) - managers if team >= low else 0)
        hires.extend(_manager_hire(q, h.starts, h.today, lead, team) for _ in range(want - done))
        done = want
    return hires


def _quarter_rows(h: _Horizon, cumulative: dict[PoolKey, list[int]]) -> list[Quarter]:
    rows = []
    for q in h.quarters:
        if q == 0:
            continue  # today is the pools' own figures
        start, end = h.starts[q], h.starts[q + 1]
        results = h.results[q]
        rows.append(
            Quarter(
                quarter=q,
                label=_quarter_label(start),
                start=start,
                end=end - dt.timedelta(days=1),
                csms_available=round(sum(r.available for r in results.values()), 2),
                hires_to_date=sum(cumulative[k][q] for k in h.keys),
                managers_needed_min=math.ceil(_team_size(h, q, cumulative) / rules.CSMS_PER_MANAGER[1]),
                pools=[
                    QuarterPool(
                        tier=k[0],
                        region=k[1],
                        accounts=results[k].accounts,
                        arr=round(results[k].arr, 2),
                        demand_hours=round(results[k].demand_hours, 2),
                        csms_needed=results[k].needed_csms,
                        proven=results[k].needed.proven,
                        csms_available=round(results[k].available, 2),
                        hires_needed=cumulative[k][q],
                        new_hires=cumulative[k][q] - cumulative[k][q - 1],
                    )
                    for k in h.keys
                ],
            )
        )
    return rows


def _pool_rows(h: _Horizon, cumulative: dict[PoolKey, list[int]], company_arr: float) -> list[GapPool]:
    rule_total = arr_rule_csms(company_arr)
    rows = []
    for key in h.keys:
        now = h.results[0][key]
        seats = h.seats.get(key, [])
        headcount = sum(s.weight for s in seats if not rules.csm_has_left(s.csm, h.today))
        hires_now = cumulative[key][0]
        gap: float = hires_now if hires_now > 0 else min(0.0, now.needed_csms - headcount)
        notes = list(dict.fromkeys(now.notes))
        lower_bound = now.needed_csms - now.needed.new_bins + now.needed.lower_bound
        if not now.needed.proven:
            notes.append(
                f"csms_needed not proven in the time limit: between {lower_bound} and {now.needed_csms}"
            )
        if not all(h.results[q][key].hires.proven for q in h.quarters):
            notes.append("some hire counts are not proven minimal in the time limit (first-fit upper bounds)")
        rows.append(
            GapPool(
                tier=key[0],
                region=key[1],
                accounts=now.accounts,
                arr=round(now.arr, 2),
                demand_hours=round(now.demand_hours, 2),
                capacity_hours=round(sum(s.weight * rules.capacity_hours(s.csm, h.policy) for s in seats), 2),
                csms=round(headcount, 2),
                csms_available=round(now.available, 2),
                csms_needed=now.needed_csms,
                csms_needed_lower_bound=lower_bound,
                proven=now.needed.proven,
                proof=now.needed.method,
                gap=round(gap, 2),
                hires=cumulative[key][-1],
                arr_rule_csms=round(rule_total * now.arr / company_arr, 2) if company_arr else 0.0,
                unserved_accounts=now.unserved,
                profile=_profile(h.policy, key[0])[0],
                notes=notes,
            )
        )
    return rows


def _scenario_notes(scenario: Book) -> list[str]:
    notes = []
    if scenario.pairs:
        notes.append("pair overrides (hours, bans) are not modelled: pools use each account's own hours")
    if scenario.policy.language_match == "hard":
        languages: dict[tuple[Tier, str | None], set[str]] = defaultdict(set)
        for a in scenario.accounts:
            if a.language is not None:
                languages[(a.tier, a.region)].add(a.language)
        if any(len(v) > 1 for v in languages.values()):
            notes.append(
                "pools with several languages assume their CSMs (and hires) cover the pool's languages"
            )
    return notes


def hiring_gaps(book: Book, request: GapRequest | None = None) -> GapReport:
    """The hiring-gap report of a book under a scenario (the book itself is left untouched)."""
    started = time.monotonic()
    request = request or GapRequest()
    scenario = _scenario(book, request)
    notes = _scenario_notes(scenario)
    packer = _Packer(request.time_limit_seconds, scenario.policy.seed)
    h = _work_out_horizon(scenario, request, packer)

    # A company with no CSM yet hires on the seeds' triggers, not on workload alone.
    active = [c for c in scenario.csms if not rules.csm_has_left(c, h.today)]
    no_csms = not active
    trigger_states, floors = _evaluate_triggers(h.accounts)
    if no_csms and not any(floors):
        notes.append("no CSM yet and no hiring trigger fired over the horizon: the founders carry CS for now")
    elif no_csms:
        notes.append(
            "no CSM yet: hires follow the seeds' triggers (see triggers); pools no trigger opened "
            "wait, however much workload they show"
        )
    cumulative = _csm_hires_needed(h, no_csms, floors)

    lead = h.policy.hiring_lead_days + h.policy.ramp_days
    hires: list[Hire] = []
    for key in h.keys:
        level = request.levels.get(key[0], rules.hire_level(book.policy, key[0]))
        for q in h.quarters:
            new = cumulative[key][q] - (cumulative[key][q - 1] if q else 0)
            hires.extend(
                _hire(key[0], key[1], level, q, h.starts, h.today, lead, h.results[q][key])
                for _ in range(new)
            )
    hires.extend(_manager_hires(h, cumulative, lead))
    order = rules.segment_order(book.policy)
    hires.sort(
        key=lambda x: (
            x.needed_by,
            x.tier is None,
            order.get(x.tier, len(order)) if x.tier else 0,
            x.region or "",
        )
    )
    late = sum(1 for x in hires if x.late)
    if late:
        notes.append(f"{late} hire(s) are late: their hire_by date has passed, hire now")

    # After hiring = at the end of the horizon: leavers gone, every hire on board.
    low, high = rules.CSMS_PER_MANAGER
    after = _team_size(h, h.quarters[-1], cumulative)
    company_arr = sum(r.arr for r in h.results[0].values())
    pools = _pool_rows(h, cumulative, company_arr)
    return GapReport(
        as_of=h.today,
        horizon_quarters=request.horizon_quarters,
        group_by=request.group_by,
        pools=pools,
        managers=Managers(
            csms_after_hiring=after,
            managers_needed_min=math.ceil(after / high),
            managers_needed_max=math.ceil(after / low),
            managers=sum(1 for c in active if c.level == "cs_manager"),
            hires=sum(1 for x in hires if x.level == "cs_manager"),
        ),
        hires=hires,
        total_cost=TotalCost(
            hires=len(hires),
            base_min=sum(x.base_range[0] for x in hires),
            base_max=sum(x.base_range[1] for x in hires),
            ote_min=sum(x.ote_range[0] for x in hires),
            ote_max=sum(x.ote_range[1] for x in hires),
        ),
        quarters=_quarter_rows(h, cumulative),
        triggers=[
            Trigger(
                name=t.name,
                fired=t.fired_quarter is not None,
                quarter=None
                if t.fired_quarter is None
                else ("now" if t.fired_quarter == 0 else _quarter_label(h.starts[t.fired_quarter])),
                value=round(t.value, 2),
                threshold=t.threshold,
                detail=t.detail,
                message=t.message + ("" if no_csms else " (informational: the book already has CSMs)"),
            )
            for t in trigger_states
        ],
        arr_rule=ArrRule(
            company_arr=round(company_arr, 2),
            csms=round(arr_rule_csms(company_arr), 2),
            bands=list(ARR_RULE_BANDS),
        ),
        notes=notes,
        solver=GapSolverInfo(
            seconds=round(time.monotonic() - started, 3),
            packings=packer.packings,
            cp_sat_packings=packer.cp_sat,
            unproven_packings=packer.unproven,
            proven=packer.unproven == 0,
        ),
    )


def _hire(
    tier: Tier,
    region: str | None,
    level: Level,
    q: int,
    starts: list[dt.date],
    today: dt.date,
    lead: int,
    result: _PoolQuarter,
) -> Hire:
    base, ote = rules.COMPENSATION[level]
    needed_by = starts[q]
    hire_by = needed_by - dt.timedelta(days=lead)
    where = f"{tier} {region}" if region else tier
    when = "now" if q == 0 else _quarter_label(needed_by)
    reason = (
        f"{where} {when}: {result.accounts} accounts, {result.demand_hours:,.0f} h need "
        f"{result.needed_csms} CSMs; {result.available:.2f} available"
    )
    return Hire(
        tier=tier,
        region=region,
        level=level,
        base_range=base,
        ote_range=ote,
        needed_by=needed_by,
        hire_by=hire_by,
        quarter=when,
        late=hire_by < today,
        reason=reason,
    )


def _manager_hire(q: int, starts: list[dt.date], today: dt.date, lead: int, team: int) -> Hire:
    base, ote = rules.COMPENSATION["cs_manager"]
    needed_by = starts[q]
    hire_by = needed_by - dt.timedelta(days=lead)
    return Hire(
        tier=None,
        region=None,
        level="cs_manager",
        base_range=base,
        ote_range=ote,
        needed_by=needed_by,
        hire_by=hire_by,
        quarter="now" if q == 0 else _quarter_label(needed_by),
        late=hire_by < today,
        reason=f"{team} CSMs after hiring: one CS Manager per 5–8 CSMs",
    )


__all__ = [
    "GapReport",
    "GapRequest",
    "TierGrowth",
    "arr_rule_csms",
    "gap_request_from_data",
    "hiring_gaps",
]
