"""Why: the reason of every move and of every account left without a CSM, in CS ops' words."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from solver import policy as rules
from solver.metrics import Band, account_figure, band_edges
from solver.problem import HOURS_SCALE, Problem, Unit, hours_figure, hours_text, money
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
    figures: dict[str, list[float]]  # per CSM: the figure of each band of problem.bands, in order


def book_today(problem: Problem) -> BookToday:
    pol = problem.book.policy
    pairs = rules.pairs_index(problem.book)
    hours: dict[str, float] = {}
    arr: dict[str, float] = {}
    count: dict[str, int] = {}
    figures: dict[str, list[float]] = {}
    for a in problem.book.accounts:
        if a.current_csm is None:
            continue
        c = a.current_csm
        hours[c] = hours.get(c, 0.0) + rules.pair_hours(a, pairs.get((a.id, c)), pol)
        arr[c] = arr.get(c, 0.0) + a.arr
        count[c] = count.get(c, 0) + 1
        mine = figures.setdefault(c, [0.0] * len(problem.bands))
        for b, band in enumerate(problem.bands):
            mine[b] += account_figure(a, band, problem.book, problem.today)
    return BookToday(hours, arr, count, figures)


BandTotals = tuple[list[float], float]  # a pool's total of each band's figure in the plan, its capacity


def band_totals(problem: Problem, state: State) -> dict[int, BandTotals]:
    """Per pool, what its bands are centred on: each figure's total over the accounts the plan serves, and
    the pool's capacity (scaled hours)."""
    out: dict[int, BandTotals] = {}
    if not problem.bands:
        return out
    for pool in problem.pools:
        totals = [0.0] * len(problem.bands)
        for i in pool.units:
            if state.assign[i] == UNASSIGNED:
                continue
            for k in problem.units[i].accounts:
                a = problem.account(k)
                for b, band in enumerate(problem.bands):
                    totals[b] += account_figure(a, band, problem.book, problem.today)
        out[pool.index] = (totals, float(sum(problem.csms[c].capacity for c in pool.csms)))
    return out


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def move_reason(
    problem: Problem,
    state: State,
    before: BookToday,
    account_index: int,
    to: int,
    pool_means: dict[int, float],
    bands: dict[int, BandTotals],
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
    cap_h = info.capacity_hours  # the book's, as `had` is
    had = before.hours.get(info.id, 0.0)
    if had > cap_h + 1e-9:
        return f"{info.id} over capacity ({hours_figure(had)} of {hours_figure(cap_h)})" + suffix
    if info.arr_cap is not None and before.arr.get(info.id, 0.0) > info.arr_cap + 1e-6:
        return f"{info.id} over ARR cap ({money(before.arr[info.id])} of {money(info.arr_cap)})"
    if info.max_accounts is not None and before.count.get(info.id, 0) > info.max_accounts:
        return f"{info.id} over book-size cap ({before.count[info.id]} of {info.max_accounts} accounts)"
    if unit.size > 1 and len({cur for cur in unit.current if cur is not None}) > 1:
        return f"keeps parent {a.parent_id} together with {problem.csms[to].id}"
    outside = _band_reason(problem, before, unit, info.id, problem.csms[to].id, bands.get(info.pool))
    if outside is not None:
        return outside
    mean = pool_means.get(info.pool, 0.0)
    tol = pol.balance_tolerance
    util_before = had / cap_h if cap_h else 0.0
    if util_before > mean + tol + 1e-9:
        return f"{info.id} above the pool's balance band ({_pct(util_before)} vs pool mean {_pct(mean)} ± {tol * 100:.0f})"
    taker = problem.csms[to]
    taker_before = before.hours.get(taker.id, 0.0) / taker.capacity_hours if taker.capacity_hours else 0.0
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


def _band_reason(
    problem: Problem, before: BookToday, unit: Unit, giver: str, taker: str, totals: BandTotals | None
) -> str | None:
    """A move made for a balanced figure says so: the first band of `balance_metrics` (in the order given)
    that the move brings a CSM towards, the giver above it or the taker below it, with their figure today
    and their band. A move that carries none of a band's figure (a green account, for red accounts) is not
    made for that band."""
    if totals is None:
        return None
    figures, cap_total = totals
    eps = Fraction(1, 10**6)
    for b, band in enumerate(problem.bands):
        carried = sum(
            account_figure(problem.account(i), band, problem.book, problem.today) for i in unit.accounts
        )
        if carried <= 0:
            continue
        for who, gives in ((giver, True), (taker, False)):
            cap = problem.csms[problem.csm_index[who]].capacity
            lo, hi = band_edges(band, Fraction(figures[b]), Fraction(cap_total), Fraction(cap))
            had = before.figures.get(who, [0.0] * len(problem.bands))[b]
            if (had > hi + eps) if gives else (had < lo - eps):
                return (
                    f"{who} {_holds(band, had)}, band {_edge(band, max(lo, Fraction(0)))}–{_edge(band, hi)}"
                )
    return None


def _holds(band: Band, figure: float) -> str:
    """What a CSM holds of a band's figure, in words ("manages $9.1M", "has 4 red accounts")."""
    if band.metric == "arr":
        return f"manages {_money3(figure)}"
    n = round(figure)
    if band.metric == "accounts":
        return f"has {n} account{'s' if n != 1 else ''}"
    if band.metric == "red_accounts":
        return f"has {n} red account{'s' if n != 1 else ''}"
    first = 3 * band.window + 1
    return f"has {n} renewal{'s' if n != 1 else ''} due in months {first}–{first + 2}"


def _edge(band: Band, x: Fraction) -> str:
    """A band's edge: money to three figures, a count to one decimal where it has one (1.5, 3)."""
    if band.metric == "arr":
        return _money3(float(x))
    return f"{float(x):.1f}".removesuffix(".0")


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
