"""`plan.fairness`: per pool and figure, how evenly the book is spread before and after the plan.

Every figure is per capacity hour, over the pool's CSMs with capacity: `hours` (utilization, band
`balance_tolerance` points around the pool's mean), each band of `balance_metrics` (its tolerance times
the pool's figure per capacity hour, never under ±1 for counts) and `arr` always (no band unless
`balance_metrics` has one: then `out_of_band` is 0). `mean` is the pool's total over its total capacity
(the band's centre); `cv` and `gini` are of the CSMs' values. `before` is the book as it stands.
"""

from __future__ import annotations

import math
from fractions import Fraction

from solver import policy as rules
from solver.metrics import Band, account_figure, band_edges
from solver.prepare import build_problem
from solver.problem import HOURS_SCALE, Problem, on_grid
from solver.schema import Book, Fairness, FairnessFigures, Plan
from solver.state import UNASSIGNED, State


def figures(
    values: dict[str, Fraction], caps: dict[str, Fraction], band: Band | None, tol: Fraction | None
) -> FairnessFigures:
    """min, max, mean, cv, gini and out_of_band of per-CSM totals `values` over capacities `caps` (hours)."""
    cap_total = sum(caps.values(), Fraction(0))
    total = sum(values.values(), Fraction(0))
    per_hour = [values[c] / caps[c] for c in caps]
    n = len(per_hour)
    avg = sum(per_hour, Fraction(0)) / n
    if avg > 0:
        var = sum(((v - avg) ** 2 for v in per_hour), Fraction(0)) / n
        cv = math.sqrt(var) / float(avg)
        gini = float(sum((abs(a - b) for a in per_hour for b in per_hour), Fraction(0)) / (2 * n * n * avg))
    else:
        cv = gini = 0.0
    mean = total / cap_total
    out = 0
    for c, cap in caps.items():
        if band is not None:
            lo, hi = band_edges(band, total, cap_total, cap)
            out += not lo <= values[c] <= hi
        elif tol is not None:
            out += abs(values[c] / cap - mean) > tol
    return FairnessFigures(
        min=round(float(min(per_hour)), 6),
        max=round(float(max(per_hour)), 6),
        mean=round(float(mean), 6),
        cv=round(cv, 6),
        gini=round(gini, 6),
        out_of_band=out,
    )


def plan_fairness(problem: Problem, state: State) -> list[Fairness]:
    """One entry per pool and figure: hours, each band of balance_metrics, and arr."""
    book = problem.book
    pol = book.policy
    tol = Fraction(pol.balance_tolerance).limit_denominator(10_000)
    bands = list(problem.bands)
    shown: list[tuple[str, Band | None]] = [("hours", None), *((b.name, b) for b in bands)]
    if not any(b.metric == "arr" for b in bands):
        shown.append(("arr", None))
    pairs = rules.pairs_index(book) if book.pairs else {}
    # One pass over the book: each CSM's totals before (current_csm) and after (the plan), in whole numbers
    # (hours scaled, ARR as given: a float sum of whole amounts is exact), made exact fractions per CSM.
    after: dict[str, dict[str, float]] = {name: {} for name, _ in shown}
    before: dict[str, dict[str, float]] = {name: {} for name, _ in shown}
    for a_index, a in enumerate(book.accounts):
        c = state.assign[problem.unit_of_account[a_index]]
        now = problem.csms[c].id if c != UNASSIGNED else None
        for who, table in ((now, after), (a.current_csm, before)):
            if who is None:
                continue
            p = pairs.get((a.id, who))
            for name, band in shown:
                if name == "hours":
                    add = _scaled_hours(rules.pair_hours(a, p, pol))
                elif name == "arr":
                    add = a.arr
                else:
                    assert band is not None
                    add = account_figure(a, band, book, problem.today)
                table[name][who] = table[name].get(who, 0.0) + add
    holders = set(before["hours"])
    out: list[Fairness] = []
    for pool in problem.pools:
        members = [c for c in pool.csms if not problem.csms[c].left and problem.csms[c].capacity_hours > 0]
        if not members:
            continue
        caps = {problem.csms[c].id: Fraction(problem.csms[c].capacity_hours) for c in members}
        had_any = bool(holders & caps.keys())
        for name, band in shown:
            t = tol if name == "hours" else None
            scale = HOURS_SCALE if name == "hours" else 1
            now_values = {i: Fraction(after[name].get(i, 0.0)) / scale for i in caps}
            then_values = {i: Fraction(before[name].get(i, 0.0)) / scale for i in caps}
            out.append(
                Fairness(
                    pool=pool.name,
                    metric=name,
                    before=figures(then_values, caps, band, t) if had_any else None,
                    after=figures(now_values, caps, band, t),
                )
            )
    return out


def _scaled_hours(hours: float) -> float:
    """An account's hours in hundredths, as the book gives them: whole where they are whole hundredths (so
    a CSM's sum is exact), as they are where finer."""
    scaled = hours * HOURS_SCALE
    return float(round(scaled)) if on_grid(hours) else scaled


def fairness_of(book: Book, plan: Plan) -> list[Fairness]:
    """`plan.fairness` of a finished plan under `book`'s own policy (e.g. for a plan solved under another
    balance_tolerance and kept for this book)."""
    problem = build_problem(book)
    state = State.empty(problem)
    account_index = {a.id: i for i, a in enumerate(book.accounts)}
    for a in plan.assignments:
        c, i = problem.csm_index.get(a.csm), account_index.get(a.account)
        if c is not None and i is not None:
            state.assign[problem.unit_of_account[i]] = c  # plan_fairness reads only where each unit is
    return plan_fairness(problem, state)
