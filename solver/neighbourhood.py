"""What both objectives share for pools too large for one model: the size estimate, the moves left under
`max_moves`, and large-neighbourhood search over a few CSMs at a time (the means of the pool held as given).
"""

from __future__ import annotations

import random
import time

from solver.bounds import pool_level_bound
from solver.model import Params, PoolTotals, SubResult, optimize
from solver.problem import Pool, Problem
from solver.state import UNASSIGNED, State, home_csm

# A pool whose model would exceed this many assignment variables is improved by large-neighbourhood
# search over a few CSMs at a time instead of one model of the whole pool.
FULL_MODEL_VARIABLES = 60_000
LNS_VARIABLES = 12_000


def moves_budget(problem: Problem, state: State, pool: Pool) -> int | None:
    cap = problem.book.policy.max_moves
    if cap is None:
        return None
    # Every move the pool's model cannot change counts against the cap: the other pools' and the forced
    # moves of the pool's own frozen units (a renewal freeze keeping a parent with its other CSM, say).
    pool_units = set(pool.units)
    outside = sum(
        problem.units[i].moves_if(problem.csms[state.assign[i]].id)
        for i in range(len(problem.units))
        if (i not in pool_units or problem.units[i].fixed is not None) and state.assign[i] != UNASSIGNED
    )
    return max(0, cap - outside)


def estimate_variables(problem: Problem, pool: Pool) -> int:
    keys: dict[tuple[int, int, int | None], int] = {}
    special = 0
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None:
            continue
        if u.size > 1 or u.hours_by_csm or u.cost_by_csm or u.soft_by_csm:
            special += len(u.eligible)
        else:
            keys[id(u.eligible), u.hours, home_csm(problem, u)] = len(u.eligible)
    return sum(keys.values()) + special


def large_neighbourhood_search(
    problem: Problem,
    state: State,
    pool: Pool,
    params: Params,
    band: tuple[float, float] | None,
    budget: float,
    min_cost: bool,
    size: int | None = None,
) -> SubResult:
    """Re-optimise a few CSMs at a time: the most utilized ones with a sample of the least utilized."""
    rng = random.Random(params.seed + pool.index)
    deadline = time.monotonic() + budget
    per_csm = max(1, estimate_variables(problem, pool) // max(1, len(pool.csms)))
    if size is None:
        size = max(4, min(len(pool.csms), LNS_VARIABLES // max(1, per_csm)))
    size = min(size, len(pool.csms))
    step_seconds = 0.5 if size > 3 else 0.25
    iterations = max(3, int(budget / step_seconds))
    bound = pool_level_bound(problem, state, pool)
    # The pool's means are taken as given by every neighbourhood (so each step keeps the same bands).
    given = pool_totals(problem, state, pool) if band is not None else None
    csms = [c for c in pool.csms if problem.csms[c].capacity > 0]
    for it in range(iterations):
        if not params.deterministic and time.monotonic() > deadline:
            break
        if params.should_stop is not None and params.should_stop():
            break
        picked = rng.sample(pool.csms, size) if min_cost else _pick_by_utilization(state, csms, size, rng)
        if not picked:
            break
        if not min_cost and bound is not None and max(state.utilization(c) for c in csms) <= bound + 1e-9:
            break
        picked_set = set(picked)
        units = [
            i
            for i in pool.units
            if problem.units[i].fixed is None
            and (
                state.assign[i] in picked_set or (state.assign[i] == UNASSIGNED and problem.units[i].eligible)
            )
        ]
        moves_now = sum(
            problem.units[i].moves_if(problem.csms[state.assign[i]].id)
            for i in units
            if state.assign[i] != UNASSIGNED
        )
        cap = moves_budget(problem, state, pool)
        step_budget = (
            budget / iterations
            if params.deterministic
            else max(0.1, min(step_seconds * 4, deadline - time.monotonic()))
        )
        optimize(
            problem,
            state,
            picked,
            units,
            min_cost=min_cost,
            band=band,
            given=given,
            max_moves=None
            if cap is None
            else cap + moves_now - count_moves_pool(problem, state, pool, free=True),
            time_limit=step_budget,
            params=Params(params.workers, params.seed + it, params.deterministic, params.should_stop),
        )
    res = SubResult(proven=False, exact=True)
    res.phases.append("lns")
    return res


def _pick_by_utilization(state: State, csms: list[int], size: int, rng: random.Random) -> list[int]:
    """The most utilized CSMs, some of the least utilized, and a random few in between."""
    by_util = sorted(csms, key=lambda c: -state.utilization(c))
    top = by_util[: max(1, size // 3)]
    rest = by_util[len(top) :]
    low = rest[-max(1, size // 3) :] if size > 3 else []
    others = [c for c in rest if c not in low]
    return list(
        dict.fromkeys(top + low + rng.sample(others, min(len(others), max(0, size - len(top) - len(low)))))
    )


def count_moves_pool(problem: Problem, state: State, pool: Pool, *, free: bool = False) -> int:
    """The pool's moves (with `free`, only those of units that are not frozen)."""
    return sum(
        problem.units[i].moves_if(problem.csms[state.assign[i]].id)
        for i in pool.units
        if state.assign[i] != UNASSIGNED and not (free and problem.units[i].fixed is not None)
    )


def pool_totals(problem: Problem, state: State, pool: Pool) -> PoolTotals:
    """The pool's mean utilization and, per band of balance_metrics, its total and total capacity."""
    cap_total = sum(problem.csms[c].capacity for c in pool.csms)
    hours = sum(state.load[c] for c in pool.csms)
    totals = [0] * len(problem.bands)
    for i in pool.units:
        if state.assign[i] != UNASSIGNED:
            u = problem.units[i]
            for b, band in enumerate(problem.bands):
                totals[b] += u.whole_arr if band.metric == "arr" else u.figures[b]
    return PoolTotals(
        hours / cap_total if cap_total else 0.0,
        {band.name: (totals[b], cap_total) for b, band in enumerate(problem.bands)},
    )
