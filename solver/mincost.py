"""The `min_cost` objective on one pool: serve every account it can at the least total pair cost.

This is generalized assignment, usually with tight capacities: strong in its LP relaxation, weak for
CP-SAT's search alone. So the pool is solved the way GAP is solved in practice:

1. **LP relaxation** (GLOP). Its duals λ ≥ 0 on the capacity (and ARR, book-size, serve, moves) rows give
   a Lagrangian bound that we recompute ourselves, so `cost_bound` does not rest on the LP solver's
   tolerances: every plan serving as many accounts costs at least
   L(λ) = Σ_units min_c (cost + λ·use) − Σ λ·room, and even L(λ) + Σ_units g_u(c_u), where g ≥ 0 is the
   unit's Lagrangian reduced cost (its excess over its best option).
2. **Tiny pools** (reduced-cost fixing leaves ≤ EXACT_VARIABLES options): the exact MIP, with the
   incumbent as cutoff, proves the optimum.
3. **Core MIP** (first call): each unit keeps its two best options by reduced cost plus the CSM it has,
   and HiGHS (bundled with OR-Tools, reached through MathOpt) solves that much smaller MIP; its root
   sub-MIP heuristics find plans within ~0.6 % of the bound in seconds on 20 × 400 books.
4. **Large-neighbourhood search** with the rest of the time: the accounts of a few random CSMs are
   re-solved exactly over every option among those CSMs, everyone else held. This is what takes the
   plan to within ~0.3 % of the bound (better than HiGHS on the whole model in 60 s).

Pools whose LP would take too much of the budget fall back to the aggregated CP-SAT model and the
large-neighbourhood search of `solver.neighbourhood`. Deterministic mode bounds HiGHS by nodes and hands the
neighbourhood steps to single-worker CP-SAT with deterministic-time limits (HiGHS has no such clock).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from ortools.math_opt.python import mathopt
from ortools.math_opt.solvers import highs_pb2

from solver.mincost_gap import (
    Gap,
    assignment_model,
    build_gap,
    core_options,
    current_cost,
    exact_options,
    lagrangian,
    tol,
)
from solver.model import Params, SubResult, optimize
from solver.neighbourhood import (
    FULL_MODEL_VARIABLES,
    estimate_variables,
    large_neighbourhood_search,
    moves_budget,
)
from solver.problem import Pool, Problem
from solver.state import UNASSIGNED, State

# Options per unit in the core MIP (by Lagrangian reduced cost), on top of the unit's current CSM;
# two is what lets HiGHS find plans within 0.5 % of the optimum on 20 × 400 GAP books in seconds.
CORE_WIDTH = 2
# A pool whose reduced-cost-fixed MIP has at most this many variables is solved outright first.
EXACT_VARIABLES = 150
# Share of the first call's time given to the core MIP (HiGHS finds its plan in its root heuristics).
CORE_SHARE = 0.3
# Large-neighbourhood search: assignment variables per neighbourhood (HiGHS solves ~600 in well under a
# second, mostly to optimality) and the wall-clock cap per step.
NEIGHBOURHOOD_VARIABLES = 600
STEP_SECONDS = 1.0
# Deterministic mode: HiGHS has no deterministic clock and its root work (where it finds its plans) is
# not cut by a node limit, so the neighbourhood steps (and cores too large for their share) go to
# single-worker CP-SAT with a deterministic-time limit, counted against the budget at about their CPU
# time; HiGHS keeps the tiny exact model and cores it can root-solve in time, bounded by nodes.
DETERMINISTIC_STEP_TIME = 1.0
DETERMINISTIC_STEP_SECONDS = 1.0
DETERMINISTIC_EXACT_NODES = 300
DETERMINISTIC_CORE_NODES = 20
# HiGHS's root work on a core MIP, per variable (a 1,000-variable 20 × 400 core: ~3.5 s of one core).
CORE_ROOT_SECONDS_PER_VARIABLE = 0.004


def pool_cost(problem: Problem, state: State, pool: Pool) -> float:
    """Total pair cost of the pool's assignments (absent cost = 0)."""
    return sum(
        problem.units[i].cost_by_csm.get(state.assign[i], 0.0)
        for i in pool.units
        if state.assign[i] != UNASSIGNED
    )


@dataclass
class _Memo:
    """What a pool remembers between the engine's first and second pass."""

    calls: int = 0
    best_bound: float | None = None
    bound_served: int = 0


# Keyed by the Problem's id and held through a weak reference, so a finished solve frees its memory.
_MEMO: dict[tuple[int, int], tuple[weakref.ref[Problem], _Memo]] = {}


@dataclass
class _Outcome:
    assignment: dict[int, int] | None = None  # unit index -> CSM (UNASSIGNED for unserved)
    bound: float | None = None  # the MIP's dual bound (meaningful only for exact models)
    optimal: bool = False  # the MIP was solved to optimality (or proved nothing beats the cutoff)
    failed: bool = False  # the MIP solver could not run


def plan_min_cost_pool(
    problem: Problem, state: State, pool: Pool, params: Params, budget: float
) -> tuple[SubResult, str]:
    """Improve the pool's plan for min_cost within `budget` seconds; `state` holds the constructed plan."""
    res, method = _plan_min_cost_pool(problem, state, pool, params, budget)
    if pool.hours_rounded:
        # Hours finer than a hundredth are rounded up in the model: its proofs speak of the rounded hours,
        # where a cheaper plan may fit the book's own. Costs are never negative: 0 bounds every plan.
        res.proven = False
        res.cost_bound = 0.0
    return res, method


def _plan_min_cost_pool(
    problem: Problem, state: State, pool: Pool, params: Params, budget: float
) -> tuple[SubResult, str]:
    started = time.monotonic()
    deadline = started + budget
    gap = build_gap(problem, state, pool, budget)
    if gap is None:
        return _fallback(problem, state, pool, params, budget)
    memo = _memo(problem, pool)
    memo.calls += 1
    if not gap.units:
        res = SubResult(cost_bound=gap.fixed_cost, phases=["fixed"])
        return res, "every account frozen"

    def stopped() -> bool:
        return params.should_stop is not None and params.should_stop()

    phases: list[str] = []
    lag = lagrangian(gap, state)
    if lag is None:
        return _fallback(problem, state, pool, params, budget)
    phases.append("lp")

    # The bound is on plans serving at least served_target accounts; a plan serving more is in that set.
    best_bound = lag.plain + gap.fixed_cost
    if memo.best_bound is not None and memo.bound_served <= gap.served_target:
        best_bound = max(best_bound, memo.best_bound)

    def at_bound() -> bool:
        return gap.serve_all and current_cost(gap, state) + gap.fixed_cost <= best_bound + tol(best_bound)

    exact = exact_options(gap, state, lag)
    if exact is not None and sum(len(o) for o in exact) <= EXACT_VARIABLES and not at_bound():
        # Small enough to solve outright: the optimum with a proof, or at least its dual bound.
        out = _solve_mip(
            gap,
            state,
            exact,
            budget * 0.5,
            params,
            cutoff=current_cost(gap, state),
            node_limit=DETERMINISTIC_EXACT_NODES if params.deterministic else None,
        )
        if out.failed:
            return _fallback(problem, state, pool, params, deadline - time.monotonic())
        _apply(gap, state, out.assignment)
        phases.append("exact")
        cost_now = current_cost(gap, state)
        if out.optimal:
            # Every plan cheaper than the incumbent was in this model, and there is none left.
            best_bound = max(best_bound, cost_now + gap.fixed_cost)
        elif out.bound is not None:
            best_bound = max(best_bound, min(cost_now, out.bound - tol(out.bound)) + gap.fixed_cost)
    if memo.calls == 1 and not at_bound() and not stopped():
        core = core_options(gap, state, lag, CORE_WIDTH)
        seconds = (deadline - time.monotonic()) * CORE_SHARE
        out = _solve_mip(
            gap,
            state,
            core,
            seconds,
            params,
            cutoff=None,
            node_limit=DETERMINISTIC_CORE_NODES if params.deterministic else None,
            deterministic_time=_core_deterministic_time(core, budget, params),
        )
        if out.failed:
            return _fallback(problem, state, pool, params, deadline - time.monotonic())
        _apply(gap, state, out.assignment)
        phases.append("core")
    if not at_bound() and not stopped() and len(pool.csms) > 1:
        # Deterministic mode plans the steps from the budget's shares, never from the clock.
        planned = budget * (
            1.0 - (0.5 if "exact" in phases else 0.0) - (CORE_SHARE if "core" in phases else 0.0)
        )
        steps = _neighbourhood_search(gap, state, pool, params, deadline, planned, seed=memo.calls)
        phases.append(f"lns×{steps}")
    cost = current_cost(gap, state) + gap.fixed_cost
    best_bound = min(best_bound, cost)
    memo.best_bound, memo.bound_served = best_bound, gap.served_target
    res = SubResult(exact=True, cost_bound=best_bound, phases=phases)
    # Proven only at the bound; and a bound for plans serving as many accounts as this one is no proof
    # that more could not be served.
    res.proven = at_bound()
    return res, "LP bound + HiGHS MIP (" + "+".join(phases) + ")"


def _core_deterministic_time(core: list[list[int]], budget: float, params: Params) -> float | None:
    """In deterministic mode, CP-SAT's time for the core; None leaves it to HiGHS under a node limit.

    HiGHS's root work (where it finds its plans) grows with the model and no limit cuts it, so HiGHS takes
    the core only when its estimated root work fits the core's share of the budget.
    """
    if not params.deterministic:
        return None
    share = budget * CORE_SHARE
    if sum(len(o) for o in core) * CORE_ROOT_SECONDS_PER_VARIABLE <= share:
        return None
    return share


def _neighbourhood_search(
    gap: Gap, state: State, pool: Pool, params: Params, deadline: float, planned: float, *, seed: int
) -> int:
    """Re-solve the accounts of a few random CSMs at a time exactly (every option among those CSMs).

    Neighbourhoods hold about NEIGHBOURHOOD_VARIABLES assignment variables. Deterministic mode runs a
    number of steps fixed by the budget, each limited by nodes; otherwise it runs until the deadline.
    """
    rng = random.Random(params.seed * 1_000_003 + pool.index * 101 + seed)
    csms = sorted({c for opts in gap.options for c in opts})
    per_csm = max(1.0, len(gap.units) / max(1, len(csms)))
    # At least two CSMs make a neighbourhood, and never more than the pool has.
    size = min(len(csms), max(2, round(math.sqrt(NEIGHBOURHOOD_VARIABLES / per_csm))))
    if size < 2:
        return 0
    steps_allowed = max(1, int(planned / DETERMINISTIC_STEP_SECONDS)) if params.deterministic else 1_000_000
    step_time = max(0.05, min(DETERMINISTIC_STEP_TIME, planned / steps_allowed))
    steps = 0
    while steps < steps_allowed:
        left = deadline - time.monotonic()
        if not params.deterministic and left < 0.1:
            break
        if params.should_stop is not None and params.should_stop():
            break
        picked = set(rng.sample(csms, size))
        options: list[list[int]] = []
        for k, u in enumerate(gap.units):
            now = state.assign[u.index]
            if now == UNASSIGNED or now in picked:
                # Unserved units may join any picked CSM (an empty list leaves them unserved).
                options.append([c for c in gap.options[k] if c in picked])
            else:
                options.append([now])
        seconds = STEP_SECONDS if params.deterministic else min(STEP_SECONDS, left)
        out = _solve_mip(
            gap,
            state,
            options,
            seconds,
            params,
            cutoff=None,
            deterministic_time=step_time if params.deterministic else None,
        )
        steps += 1
        if out.failed:
            break
        _apply(gap, state, out.assignment)
    return steps


def _memo(problem: Problem, pool: Pool) -> _Memo:
    key = (id(problem), pool.index)
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is problem:
        return hit[1]
    for stale in [k for k, (ref, _) in _MEMO.items() if ref() is None]:
        del _MEMO[stale]
    memo = _Memo()
    _MEMO[key] = (weakref.ref(problem), memo)
    return memo


def _solve_mip(
    gap: Gap,
    state: State,
    options: list[list[int]],
    seconds: float,
    params: Params,
    *,
    cutoff: float | None,
    node_limit: int | None = None,
    deterministic_time: float | None = None,
) -> _Outcome:
    """Solve the MIP restricted to `options` with HiGHS; the plan is read back, not yet applied."""
    # A unit whose only option is the CSM it has is no variable, only load (neighbourhoods are mostly so).
    held = [
        (k, opts[0])
        for k, opts in enumerate(options)
        if len(opts) == 1 and state.assign[gap.units[k].index] == opts[0]
    ]
    held_set = {k for k, _ in held}
    model, xs, _ = assignment_model(gap, options, held, integer=True, weight=gap.weight)
    seconds = max(0.05, seconds)
    solve_params = mathopt.SolveParameters(
        random_seed=params.seed % 2**31,
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=1e-6,
    )
    if params.deterministic:
        # Nodes, not seconds, decide where the search stops; the wall clock is only a safety net.
        solve_params.node_limit = node_limit or DETERMINISTIC_EXACT_NODES
        solve_params.time_limit = dt.timedelta(seconds=seconds * 4 + 5)
    else:
        solve_params.time_limit = dt.timedelta(seconds=seconds)
        if node_limit is not None:
            solve_params.node_limit = node_limit
    if cutoff is not None:
        # HiGHS's own option (MathOpt's cutoff_limit is not wired to HiGHS): prune plans no better.
        solve_params.highs = highs_pb2.HighsOptionsProto(
            double_options={"objective_bound": cutoff - tol(cutoff)}
        )
    interrupter = None
    msg_cb: Callable[[object], None] | None = None
    if params.should_stop is not None:
        from ortools.util.python.solve_interrupter import SolveInterrupter

        interrupter = SolveInterrupter()
        should_stop = params.should_stop

        def msg_cb(_lines: object) -> None:
            # HiGHS logs every few seconds: a cheap place to notice that the job was cancelled.
            if should_stop():
                interrupter.interrupt()

    solver_type = mathopt.SolverType.HIGHS
    if deterministic_time is not None:
        # CP-SAT's deterministic clock bounds a step exactly, which HiGHS's node limit cannot.
        solver_type = mathopt.SolverType.CP_SAT
        solve_params = mathopt.SolveParameters(random_seed=params.seed % 2**31, threads=1)
        solve_params.cp_sat.max_deterministic_time = deterministic_time
        solve_params.time_limit = dt.timedelta(seconds=deterministic_time * 10 + 5)
    try:
        result = mathopt.solve(
            model, solver_type, params=solve_params, msg_cb=msg_cb, interrupter=interrupter
        )
    except Exception:  # a solver that cannot run leaves the plan as it is
        return _Outcome(failed=True)
    out = _Outcome()
    reason = result.termination.reason
    out.optimal = reason == mathopt.TerminationReason.OPTIMAL or (
        cutoff is not None
        and (
            reason == mathopt.TerminationReason.INFEASIBLE
            or (
                reason == mathopt.TerminationReason.NO_SOLUTION_FOUND
                and result.termination.limit == mathopt.Limit.CUTOFF
            )
        )
    )
    if not gap.serve_all:
        out.optimal = False
    bound = result.termination.objective_bounds.dual_bound
    if gap.serve_all and math.isfinite(bound):
        out.bound = bound
    if result.has_primal_feasible_solution():
        values = result.variable_values()
        assignment: dict[int, int] = {}
        for k, row in enumerate(xs):
            if k in held_set:
                assignment[gap.units[k].index] = options[k][0]
                continue
            chosen = [c for c, v in row.items() if values[v] > 0.5]
            assignment[gap.units[k].index] = chosen[0] if chosen else UNASSIGNED
        out.assignment = assignment
    return out


def _apply(gap: Gap, state: State, assignment: dict[int, int] | None) -> bool:
    """Adopt `assignment` if it serves more, or as many for less; re-checking every cap as it goes."""
    if assignment is None:
        return False
    served_now = sum(u.size for u in gap.units if state.assign[u.index] != UNASSIGNED)
    served_new = sum(u.size for u in gap.units if assignment.get(u.index, UNASSIGNED) != UNASSIGNED)
    cost_now = current_cost(gap, state)
    cost_new = sum(
        u.cost_by_csm.get(assignment[u.index], 0.0)
        for u in gap.units
        if assignment.get(u.index, UNASSIGNED) != UNASSIGNED
    )
    if served_new < served_now or (served_new == served_now and cost_new >= cost_now - 1e-9):
        return False
    if gap.moves is not None and gap.moves_left is not None:
        moved = sum(
            gap.moves[k][assignment[u.index]]
            for k, u in enumerate(gap.units)
            if assignment.get(u.index, UNASSIGNED) != UNASSIGNED
        )
        if moved > gap.moves_left:
            return False
    before = {u.index: state.assign[u.index] for u in gap.units}
    changed = [u for u in gap.units if assignment.get(u.index, UNASSIGNED) != before[u.index]]
    for u in changed:
        state.remove(u)
    ok = True
    for u in changed:
        c = assignment[u.index]
        if c == UNASSIGNED:
            continue
        if not state.fits(u, c):
            ok = False
            break
        state.place(u, c)
    if ok:
        return True
    # A solver tolerance let a cap slip: keep the plan we had.
    for u in changed:
        state.remove(u)
    for u in changed:
        if before[u.index] != UNASSIGNED:
            state.place(u, before[u.index])
    return False


def _fallback(
    problem: Problem, state: State, pool: Pool, params: Params, budget: float
) -> tuple[SubResult, str]:
    """Pools too large for the LP: the aggregated CP-SAT model when it fits, then (or only) LNS."""
    started = time.monotonic()
    if estimate_variables(problem, pool) <= FULL_MODEL_VARIABLES:
        res = optimize(
            problem,
            state,
            pool.csms,
            pool.units,
            min_cost=True,
            band=None,
            max_moves=moves_budget(problem, state, pool),
            time_limit=budget * 0.35,
            params=params,
        )
        if res.proven or len(pool.csms) <= 2:
            return res, "cp-sat (whole pool, " + "+".join(res.phases or ["hint"]) + ")"
    else:
        res = SubResult(proven=False)
    left = budget - (time.monotonic() - started)
    if left > 0.1:
        large_neighbourhood_search(problem, state, pool, params, None, left, True, size=4)
        res.phases.append("lns")
    res.proven = res.cost_bound is not None and pool_cost(problem, state, pool) <= res.cost_bound + 1e-6
    return res, "cp-sat (" + "+".join(res.phases or ["hint"]) + ")"
