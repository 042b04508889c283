"""Why: the reason of every move and of every account left without a CSM, in CS ops' words."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from solver import policy as rules
from solver.metrics import band_edges
from solver.prepare import HOURS_SCALE, Problem, Unit, hours_text, money
from solver.schema import (
    BUILTIN_TIERS,
    Account,
    Pair,
    Policy,
)
from solver.state import UNASSIGNED, State


def count_moves(problem: Problem, state: State) -> int:
    return sum(
        u.moves_if(problem.csms[state.assign[u.index]].id)
        for u in problem.units
        if state.assign[u.index] != UNASSIGNED
    )


@dataclass
class BookToday:
    """Each CSM's book as it is today (from current_csm), for the reasons of moves."""

    hours: dict[str, float]
    arr: dict[str, float]
    count: dict[str, int]


def book_today(problem: Problem) -> BookToday:
    pol = problem.book.policy
    pairs = rules.pairs_index(problem.book)
    hours: dict[str, float] = {}
    arr: dict[str, float] = {}
    count: dict[str, int] = {}
    for a in problem.book.accounts:
        if a.current_csm is None:
            continue
        c = a.current_csm
        hours[c] = hours.get(c, 0.0) + rules.pair_hours(a, pairs.get((a.id, c)), pol)
        arr[c] = arr.get(c, 0.0) + a.arr
        count[c] = count.get(c, 0) + 1
    return BookToday(hours, arr, count)


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def move_reason(
    problem: Problem,
    state: State,
    before: BookToday,
    account_index: int,
    to: int,
    pool_means: dict[int, float],
    arr_bands: dict[int, tuple[float, float]],
) -> str:
    pol = problem.book.policy
    a = problem.account(account_index)
    assert a.current_csm is not None
    cur = problem.csm_index[a.current_csm]
    info = problem.csms[cur]
    unit = problem.units[problem.unit_of_account[account_index]]
    suffix = f" ({unit.released_freeze}: hand over with care)" if unit.released_freeze else ""
    if info.left:
        end = info.csm.end_date.isoformat() if info.csm.end_date else "?"
        return f"{info.id} left on {end}{suffix}"
    pair = rules.pairs_index(problem.book).get((a.id, info.id)) if problem.book.pairs else None
    why = rules.eligibility_problem(a, info.csm, pair, pol, today=problem.today)
    if why is not None:
        return why + suffix
    if unit.size > 1 and cur not in unit.eligible:
        return f"{info.id} cannot serve every account of parent {a.parent_id}; the parent stays together"
    cap_h = info.capacity / HOURS_SCALE
    had = before.hours.get(info.id, 0.0)
    if had > cap_h + 1e-6:
        return f"{info.id} over capacity ({had:,.0f} h of {cap_h:,.0f} h)" + suffix
    if info.arr_cap is not None and before.arr.get(info.id, 0.0) > info.arr_cap + 1e-6:
        return f"{info.id} over ARR cap ({money(before.arr[info.id])} of {money(info.arr_cap)})"
    if info.max_accounts is not None and before.count.get(info.id, 0) > info.max_accounts:
        return f"{info.id} over book-size cap ({before.count[info.id]} of {info.max_accounts} accounts)"
    if unit.size > 1 and len({cur for cur in unit.current if cur is not None}) > 1:
        return f"keeps parent {a.parent_id} together with {problem.csms[to].id}"
    arr_band = _arr_band_reason(problem, before, info.id, problem.csms[to].id, arr_bands.get(info.pool))
    if arr_band is not None:
        return arr_band
    mean = pool_means.get(info.pool, 0.0)
    tol = pol.balance_tolerance
    util_before = had / cap_h if cap_h else 0.0
    if util_before > mean + tol + 1e-9:
        return f"{info.id} above the pool's balance band ({_pct(util_before)} vs pool mean {_pct(mean)} ± {tol * 100:.0f})"
    taker = problem.csms[to]
    taker_before = before.hours.get(taker.id, 0.0) / (taker.capacity / HOURS_SCALE) if taker.capacity else 0.0
    if taker_before < mean - tol - 1e-9:
        return f"{taker.id} below the pool's balance band ({_pct(taker_before)} vs pool mean {_pct(mean)} ± {tol * 100:.0f})"
    if pol.objective == "min_cost":
        return f"cheaper pairing with {taker.id} (min_cost)"
    return f"evens out utilization: {info.id} {_pct(util_before)} → {_pct(state.utilization(cur))}"


def with_health_hours(reason: str, account: Account, pair: Pair | None, policy: Policy) -> str:
    """A move's or unserved account's reason says how the account's health changed its hours
    ("red account: 165 h, 1.5 × 110 h"), unless a pair override sets the hours."""
    if (pair is not None and pair.hours is not None) or rules.health_factor(account, policy) == 1.0:
        return reason
    return f"{reason} ({rules.hours_explained(account, policy)})"


def _arr_band(problem: Problem, csm_id: str, totals: tuple[float, float]) -> tuple[float, float]:
    """The ARR band of one CSM (whole currency): the pool's ARR per capacity hour, ± the tolerance."""
    band = next(b for b in problem.bands if b.metric == "arr")
    total, cap_total = totals
    cap = problem.csms[problem.csm_index[csm_id]].capacity
    lo, hi = band_edges(band, Fraction(total), Fraction(cap_total), Fraction(cap))
    return float(lo), float(hi)


def _arr_band_reason(
    problem: Problem, before: BookToday, giver: str, taker: str, totals: tuple[float, float] | None
) -> str | None:
    """A move made for ARR fairness says so: the CSM's ARR today and their band."""
    if totals is None:
        return None
    for who in (giver, taker):
        lo, hi = _arr_band(problem, who, totals)
        had = before.arr.get(who, 0.0)
        if had > hi + 1e-6 or had < lo - 1e-6:
            return f"{who} manages {_money3(had)}, band {_money3(lo)}–{_money3(hi)}"
    return None


def _money3(x: float) -> str:
    """Money to three significant figures ($1.15M, $850k): a band's edge is not rounded across."""
    for unit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if x >= unit:
            return f"${float(f'{x / unit:.3g}'):g}{suffix}"
    return f"${x:,.0f}"


def _left_out_why(problem: Problem, state: State, u: Unit) -> str | None:
    """Why this account, of a pool that cannot serve all its accounts, is one left out: it covers the least
    ARR for its hours (the plan serves the most ARR it can)."""
    if not u.eligible or u.no_csm_reason:
        return None
    hours = min(u.hours_for(c) for c in u.eligible) / HOURS_SCALE
    per_hour = u.arr / hours if hours else float("inf")
    return (
        f"the pool cannot serve all its accounts and the plan serves the most ARR it can; this one covers "
        f"{money(u.arr)} for {hours:,.0f} h ({money(per_hour)} per hour)"
    )


def unassigned_reason(problem: Problem, state: State, u: Unit) -> str:
    base = _capacity_reason(problem, state, u)
    if u.no_csm_reason:
        return base
    why = None if base.startswith("max_moves") else _left_out_why(problem, state, u)
    return f"{base}: {why}" if why else base


def _capacity_reason(problem: Problem, state: State, u: Unit) -> str:
    if u.no_csm_reason:
        return u.no_csm_reason
    a = problem.account(u.accounts[0])
    tier = (
        a.tier.replace("_", "-")
        if a.tier in BUILTIN_TIERS
        else rules.segment_label(problem.book.policy, a.tier)
    )
    where = f" in {a.region}" if a.region and problem.book.policy.region_match == "hard" else ""
    pol = problem.book.policy
    subject = f"parent {a.parent_id} ({u.size} accounts, {hours_text(u.hours)})" if u.size > 1 else None
    if pol.max_moves is not None and u.moves_if("") > 0 and count_moves(problem, state) >= pol.max_moves:
        stay = [c for c in u.eligible if u.moves_if(problem.csms[c].id) == 0 and state.fits(u, c)]
        if not stay:
            return f"max_moves ({pol.max_moves}) reached: keeping it served would take another move"
    room_hours = [c for c in u.eligible if state.load[c] + u.hours_for(c) <= problem.csms[c].capacity]
    if not room_hours:
        text = f"no {tier} CSM{where} has {hours_text(u.hours)} free"
        return f"{subject}: {text}" if subject else text
    room_arr = [
        c
        for c in room_hours
        if problem.csms[c].arr_cap is None or state.arr[c] + u.arr <= (problem.csms[c].arr_cap or 0)
    ]
    if not room_arr:
        text = f"no {tier} CSM{where} with {hours_text(u.hours)} free has room under the ARR cap for {money(u.arr)}"
        return f"{subject}: {text}" if subject else text
    text = f"every {tier} CSM{where} with room is at their book-size cap"
    return f"{subject}: {text}" if subject else text
