"""The `min_cost` objective on one pool: serve every account it can at the least total pair cost.

Generalized assignment with tight capacities is LP-strong and hard for CP-SAT's search alone: the
whole-pool CP-SAT solve gives the LP-based bound, then re-solving the accounts of a few random CSMs at a
time (large-neighbourhood search) brings the cost down.
"""

from __future__ import annotations

import time

from solver.construct import UNASSIGNED, State
from solver.model import Params, SubResult, optimize
from solver.prepare import Pool, Problem


def pool_cost(problem: Problem, state: State, pool: Pool) -> float:
    """Total pair cost of the pool's assignments (absent cost = 0)."""
    return sum(
        problem.units[i].cost_by_csm.get(state.assign[i], 0.0)
        for i in pool.units
        if state.assign[i] != UNASSIGNED
    )


def plan_min_cost_pool(
    problem: Problem, state: State, pool: Pool, params: Params, budget: float
) -> tuple[SubResult, str]:
    """Improve the pool's plan for min_cost within `budget` seconds; `state` holds the constructed plan."""
    from solver.engine import large_neighbourhood_search

    started = time.monotonic()
    res = optimize(
        problem,
        state,
        pool.csms,
        pool.units,
        min_cost=True,
        band=None,
        max_moves=None if problem.book.policy.max_moves is None else _moves_left(problem, state, pool),
        time_limit=budget * 0.35,
        params=params,
    )
    if res.proven or len(pool.csms) <= 2:
        return res, "cp-sat (whole pool, " + "+".join(res.phases or ["hint"]) + ")"
    left = budget - (time.monotonic() - started)
    large_neighbourhood_search(problem, state, pool, params, None, left, True, size=4)
    res.phases.append("lns")
    res.proven = res.cost_bound is not None and pool_cost(problem, state, pool) <= res.cost_bound + 1e-6
    return res, "cp-sat (whole pool, serve+cost) + LNS"


def _moves_left(problem: Problem, state: State, pool: Pool) -> int | None:
    from solver.engine import _moves_budget

    return _moves_budget(problem, state, pool)
