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
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ortools.math_opt.python import mathopt
from ortools.math_opt.solvers import highs_pb2

from solver.construct import UNASSIGNED, State
from solver.model import Params, SubResult, optimize
from solver.neighbourhood import (
    FULL_MODEL_VARIABLES,
    estimate_variables,
    large_neighbourhood_search,
    moves_budget,
)
from solver.prepare import Pool, Problem, Unit

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
# Seconds per account–CSM pair to build and solve the LP; a pool whose LP would eat more than a third of
# its budget goes to the CP-SAT fallback instead.
LP_SECONDS_PER_PAIR = 50e-6
# Relative tolerance taken off the Lagrangian bound, against floating-point error in its sum.
BOUND_EPS = 1e-9


def pool_cost(problem: Problem, state: State, pool: Pool) -> float:
    """Total pair cost of the pool's assignments (absent cost = 0)."""
    return sum(
        problem.units[i].cost_by_csm.get(state.assign[i], 0.0)
        for i in pool.units
        if state.assign[i] != UNASSIGNED
    )


@dataclass
class _Gap:
    """The pool as a generalized-assignment problem over its movable units (frozen ones are constants)."""

    units: list[Unit]
    options: list[list[int]]  # per unit: the pool CSMs it may go to
    room: dict[int, int]  # capacity left by frozen units, per CSM
    arr_room: dict[int, float]  # ARR cap left, only for CSMs whose ARR cap can bind
    count_room: dict[int, int]  # book-size cap left, only for CSMs whose cap can bind
    moves: list[dict[int, int]] | None  # per unit and option: accounts moved (when max_moves is set)
    moves_left: int | None
    fixed_cost: float
    serve_all: bool  # the plan serves every unit that has an option: plans must do the same
    served_target: int  # accounts of movable units that plans must serve
    weight: float  # value of one served account in the MIP objective (0 when serve_all)

    def cost(self, k: int, c: int) -> float:
        return self.units[k].cost_by_csm.get(c, 0.0)


@dataclass
class _Lagrange:
    """Multipliers ≥ 0 of the relaxed rows and what follows from them."""

    bound: float  # L(λ): lower bound on the movable units' cost among plans serving served_target accounts
    plain: float  # the better of L(λ) and L(0); only L(λ) goes with `reduced`
    reduced: list[dict[int, float]]  # per unit and option: g ≥ 0, excess over the unit's best option


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
    started = time.monotonic()
    deadline = started + budget
    gap = _build_gap(problem, state, pool, budget)
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
    lag = _lagrangian(gap, state)
    if lag is None:
        return _fallback(problem, state, pool, params, budget)
    phases.append("lp")

    # The bound is on plans serving at least served_target accounts; a plan serving more is in that set.
    best_bound = lag.plain + gap.fixed_cost
    if memo.best_bound is not None and memo.bound_served <= gap.served_target:
        best_bound = max(best_bound, memo.best_bound)

    def at_bound() -> bool:
        return gap.serve_all and _current_cost(gap, state) + gap.fixed_cost <= best_bound + _tol(best_bound)

    exact = _exact_options(gap, state, lag)
    if exact is not None and sum(len(o) for o in exact) <= EXACT_VARIABLES and not at_bound():
        # Small enough to solve outright: the optimum with a proof, or at least its dual bound.
        out = _solve_mip(
            gap,
            state,
            exact,
            budget * 0.5,
            params,
            cutoff=_current_cost(gap, state),
            node_limit=DETERMINISTIC_EXACT_NODES if params.deterministic else None,
        )
        if out.failed:
            return _fallback(problem, state, pool, params, deadline - time.monotonic())
        _apply(gap, state, out.assignment)
        phases.append("exact")
        cost_now = _current_cost(gap, state)
        if out.optimal:
            # Every plan cheaper than the incumbent was in this model, and there is none left.
            best_bound = max(best_bound, cost_now + gap.fixed_cost)
        elif out.bound is not None:
            best_bound = max(best_bound, min(cost_now, out.bound - _tol(out.bound)) + gap.fixed_cost)
    if memo.calls == 1 and not at_bound() and not stopped():
        core = _core_options(gap, state, lag, CORE_WIDTH)
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
    cost = _current_cost(gap, state) + gap.fixed_cost
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
    gap: _Gap, state: State, pool: Pool, params: Params, deadline: float, planned: float, *, seed: int
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


def _tol(value: float) -> float:
    return 1e-6 * (1.0 + abs(value))


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


def _build_gap(problem: Problem, state: State, pool: Pool, budget: float) -> _Gap | None:
    pool_csms = set(pool.csms)
    units: list[Unit] = []
    options: list[list[int]] = []
    fixed_cost = 0.0
    pairs = 0
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None:
            if state.assign[i] != UNASSIGNED:
                fixed_cost += u.cost_by_csm.get(state.assign[i], 0.0)
            continue
        opts = [c for c in u.eligible if c in pool_csms]
        if not opts:
            continue
        units.append(u)
        options.append(opts)
        pairs += len(opts)
    if pairs * LP_SECONDS_PER_PAIR > budget / 3:
        return None
    room = {c: problem.csms[c].capacity - state.load[c] for c in pool.csms}
    arr_left = {c: problem.csms[c].arr_cap for c in pool.csms}
    count_left = {c: problem.csms[c].max_accounts for c in pool.csms}
    arr_now = {c: state.arr[c] for c in pool.csms}
    count_now = {c: state.count[c] for c in pool.csms}
    for u in units:
        c = state.assign[u.index]
        if c in room:
            room[c] += u.hours_for(c)
            arr_now[c] -= u.arr
            count_now[c] -= u.size
    # A cap enters the model only when the units that could go to the CSM could break it.
    arr_demand = dict.fromkeys(pool.csms, 0.0)
    count_demand = dict.fromkeys(pool.csms, 0)
    for u, opts in zip(units, options, strict=True):
        for c in opts:
            arr_demand[c] += u.arr
            count_demand[c] += u.size
    arr_room: dict[int, float] = {}
    count_room: dict[int, int] = {}
    for c in pool.csms:
        cap = arr_left[c]
        if cap is not None and arr_demand[c] > cap - arr_now[c] + 1e-6:
            arr_room[c] = cap - arr_now[c]
        n = count_left[c]
        if n is not None and count_demand[c] > n - count_now[c]:
            count_room[c] = n - count_now[c]
    moves: list[dict[int, int]] | None = None
    moves_left: int | None = None
    if problem.book.policy.max_moves is not None:
        outside = moves_budget(problem, state, pool)
        fixed_moves = sum(
            problem.units[i].moves_if(problem.csms[state.assign[i]].id)
            for i in pool.units
            if problem.units[i].fixed is not None and state.assign[i] != UNASSIGNED
        )
        moves_left = None if outside is None else outside - fixed_moves
        moves = [
            {c: u.moves_if(problem.csms[c].id) for c in opts} for u, opts in zip(units, options, strict=True)
        ]
    served = sum(u.size for u in units if state.assign[u.index] != UNASSIGNED)
    serve_all = served == sum(u.size for u in units)
    weight = 0.0
    if not serve_all:
        # One more account served outweighs any difference in cost.
        weight = (
            sum(
                max((u.cost_by_csm.get(c, 0.0) for c in o), default=0.0)
                for u, o in zip(units, options, strict=True)
            )
            + 1.0
        )
    return _Gap(
        units=units,
        options=options,
        room=room,
        arr_room=arr_room,
        count_room=count_room,
        moves=moves,
        moves_left=moves_left,
        fixed_cost=fixed_cost,
        serve_all=serve_all,
        served_target=served,
        weight=weight,
    )


def _current_cost(gap: _Gap, state: State) -> float:
    return sum(
        gap.units[k].cost_by_csm.get(state.assign[u.index], 0.0)
        for k, u in enumerate(gap.units)
        if state.assign[u.index] != UNASSIGNED
    )


def _lagrangian(gap: _Gap, state: State) -> _Lagrange | None:
    """Solve the LP relaxation with GLOP and turn its duals into a bound we recompute ourselves."""
    # The LP objective is the cost alone: serving is a row (≥ the accounts served now) in the LP.
    model, _, rows = _assignment_model(gap, gap.options, [], integer=False, weight=0.0)
    try:
        result = mathopt.solve(model, mathopt.SolverType.GLOP)
    except Exception:  # any solver failure means no LP guidance: use the fallback
        return None
    if (
        result.termination.reason != mathopt.TerminationReason.OPTIMAL
        or not result.has_dual_feasible_solution()
    ):
        return None
    duals = result.dual_values()

    def mult(name: str, c: int | None = None) -> float:
        con = rows.get((name, c))
        if con is None:
            return 0.0
        d = float(duals[con])
        # Minimisation: a ≤ row's dual is ≤ 0 and a ≥ row's is ≥ 0; the multiplier is its magnitude.
        return max(0.0, d if name == "serve" else -d)

    lam = {c: mult("hours", c) for c in gap.room}
    alpha = {c: mult("arr", c) for c in gap.arr_room}
    beta = {c: mult("count", c) for c in gap.count_room}
    sigma = mult("serve")
    mu = mult("moves")
    reduced: list[dict[int, float]] = []
    bound = 0.0
    for k, (u, opts) in enumerate(zip(gap.units, gap.options, strict=True)):
        rc: dict[int, float] = {}
        for c in opts:
            value = gap.cost(k, c) + lam.get(c, 0.0) * u.hours_for(c) - sigma * u.size
            if c in alpha:
                value += alpha[c] * u.arr
            if c in beta:
                value += beta[c] * u.size
            if gap.moves is not None:
                value += mu * gap.moves[k][c]
            rc[c] = value
        best = min(rc.values())
        if not gap.serve_all:
            best = min(best, 0.0)  # leaving the unit unserved costs nothing in the relaxation
        bound += best
        reduced.append({c: v - best for c, v in rc.items()})
    bound -= sum(lam[c] * gap.room[c] for c in gap.room)
    bound -= sum(alpha[c] * gap.arr_room[c] for c in gap.arr_room)
    bound -= sum(beta[c] * gap.count_room[c] for c in gap.count_room)
    if gap.moves_left is not None:
        bound -= mu * gap.moves_left
    bound += sigma * gap.served_target
    bound -= BOUND_EPS * (1.0 + abs(bound)) + 1e-9 * len(gap.units)
    # λ = 0 gives the plain bound (each unit on its cheapest CSM; costs are ≥ 0), exact when nothing binds.
    plain = (
        sum(min(gap.cost(k, c) for c in opts) for k, opts in enumerate(gap.options)) if gap.serve_all else 0.0
    )
    return _Lagrange(bound=bound, plain=max(bound, plain), reduced=reduced)


def _coupling_rows(
    gap: _Gap,
    model: mathopt.Model,
    xs: list[dict[int, mathopt.Variable]],
    held: list[tuple[int, int]] | None = None,
) -> dict[tuple[str, int | None], mathopt.LinearConstraint]:
    """Capacity, ARR cap, book-size cap, serve and moves rows, keyed by (kind, CSM).

    `held` lists units that stay where they are: they are no variables, only a load on their CSM.
    """
    by_csm: dict[int, list[tuple[int, mathopt.Variable]]] = {}
    for k, row in enumerate(xs):
        for c, v in row.items():
            by_csm.setdefault(c, []).append((k, v))
    used_hours: dict[int, int] = {}
    used_arr: dict[int, float] = {}
    used_count: dict[int, int] = {}
    used_moves = 0
    used_served = 0
    for k, c in held or ():
        u = gap.units[k]
        used_served += u.size
        used_hours[c] = used_hours.get(c, 0) + u.hours_for(c)
        used_arr[c] = used_arr.get(c, 0.0) + u.arr
        used_count[c] = used_count.get(c, 0) + u.size
        if gap.moves is not None:
            used_moves += gap.moves[k][c]
    rows: dict[tuple[str, int | None], mathopt.LinearConstraint] = {}
    inf = math.inf
    for c, entries in sorted(by_csm.items()):
        # Capacity: a CSM's hours stay within the hours they can give this year.
        rows["hours", c] = _row(
            model,
            ((v, gap.units[k].hours_for(c)) for k, v in entries),
            -inf,
            gap.room[c] - used_hours.get(c, 0),
        )
        if c in gap.arr_room:
            # ARR cap: the ARR under management stays under the segment's ceiling.
            rows["arr", c] = _row(
                model,
                ((v, gap.units[k].arr) for k, v in entries),
                -inf,
                gap.arr_room[c] - used_arr.get(c, 0.0),
            )
        if c in gap.count_room:
            # Book-size cap.
            rows["count", c] = _row(
                model,
                ((v, gap.units[k].size) for k, v in entries),
                -inf,
                gap.count_room[c] - used_count.get(c, 0),
            )
    if not gap.serve_all:
        rows["serve", None] = _row(
            model,
            ((v, gap.units[k].size) for k, row in enumerate(xs) for v in row.values()),
            gap.served_target - used_served,
            inf,
        )
    if gap.moves is not None and gap.moves_left is not None:
        moves = gap.moves
        rows["moves", None] = _row(
            model,
            ((v, moves[k][c]) for k, row in enumerate(xs) for c, v in row.items() if moves[k][c]),
            -inf,
            gap.moves_left - used_moves,
        )
    return rows


def _row(
    model: mathopt.Model, terms: Iterable[tuple[mathopt.Variable, float]], lb: float, ub: float
) -> mathopt.LinearConstraint:
    """A linear row, coefficient by coefficient (several times faster than building an expression)."""
    con = model.add_linear_constraint(lb=lb, ub=ub)
    for v, coef in terms:
        con.set_coefficient(v, coef)
    return con


def _assignment_model(
    gap: _Gap, options: list[list[int]], held: list[tuple[int, int]], *, integer: bool, weight: float
) -> tuple[
    mathopt.Model, list[dict[int, mathopt.Variable]], dict[tuple[str, int | None], mathopt.LinearConstraint]
]:
    """The pool's assignment model over `options` (units in `held` are load, not variables)."""
    model = mathopt.Model(name="min_cost")
    held_set = {k for k, _ in held}
    xs: list[dict[int, mathopt.Variable]] = []
    objective = model.objective
    for k, opts in enumerate(options):
        if k in held_set:
            xs.append({})
            continue
        row = {c: model.add_variable(lb=0.0, ub=1.0, is_integer=integer) for c in opts}
        xs.append(row)
        size = gap.units[k].size
        for c, v in row.items():
            coef = gap.cost(k, c) - weight * size
            if coef:
                objective.set_linear_coefficient(v, coef)
        # Each unit goes to one CSM (or, when not everyone can be served, at most one).
        _row(model, ((v, 1.0) for v in row.values()), 1.0 if gap.serve_all else -math.inf, 1.0)
    objective.is_maximize = False
    return model, xs, _coupling_rows(gap, model, xs, held)


def _exact_options(gap: _Gap, state: State, lag: _Lagrange) -> list[list[int]] | None:
    """Per unit, the options some plan no dearer than the incumbent could use (reduced-cost fixing).

    Every plan costs at least bound + Σ g_u(c_u) with g ≥ 0, so an option with bound + g above the
    incumbent's cost is in no cheaper plan. Only when every unit must be served (else a plan serving
    more may cost more, and it is preferred).
    """
    if not gap.serve_all:
        return None
    slack = _current_cost(gap, state) - lag.bound + _tol(lag.bound)
    out = []
    for k, u in enumerate(gap.units):
        now = state.assign[u.index]
        out.append([c for c in gap.options[k] if lag.reduced[k][c] <= slack or c == now])
    return out


def _core_options(gap: _Gap, state: State, lag: _Lagrange, width: int) -> list[list[int]]:
    """Per unit, its `width` best options by reduced cost and the CSM it has now."""
    exact = _exact_options(gap, state, lag)
    out = []
    for k, u in enumerate(gap.units):
        allowed = exact[k] if exact is not None else gap.options[k]
        ranked = sorted(allowed, key=lambda c, k=k: (lag.reduced[k][c], c))[:width]  # type: ignore[misc]
        now = state.assign[u.index]
        if now != UNASSIGNED and now not in ranked:
            ranked.append(now)
        out.append(ranked)
    return out


def _solve_mip(
    gap: _Gap,
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
    model, xs, _ = _assignment_model(gap, options, held, integer=True, weight=gap.weight)
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
            double_options={"objective_bound": cutoff - _tol(cutoff)}
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


def _apply(gap: _Gap, state: State, assignment: dict[int, int] | None) -> bool:
    """Adopt `assignment` if it serves more, or as many for less; re-checking every cap as it goes."""
    if assignment is None:
        return False
    served_now = sum(u.size for u in gap.units if state.assign[u.index] != UNASSIGNED)
    served_new = sum(u.size for u in gap.units if assignment.get(u.index, UNASSIGNED) != UNASSIGNED)
    cost_now = _current_cost(gap, state)
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
