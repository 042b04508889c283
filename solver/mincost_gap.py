"""The `min_cost` pool as a generalized-assignment problem (GAP): its movable units and their options, the
rows that couple them (capacity, ARR and book-size caps, serving, moves), the LP relaxation and the
Lagrangian bound recomputed from its duals, and the options that reduced-cost fixing leaves. The searches
that use them are in solver/mincost.py."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.math_opt.python import mathopt

from solver.neighbourhood import moves_budget
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State

# Seconds per account–CSM pair to build and solve the LP; a pool whose LP would eat more than a third of
# its budget goes to the CP-SAT fallback instead.
LP_SECONDS_PER_PAIR = 50e-6
# Relative tolerance taken off the Lagrangian bound, against floating-point error in its sum.
BOUND_EPS = 1e-9


@dataclass
class Gap:
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
class Lagrange:
    """Multipliers ≥ 0 of the relaxed rows and what follows from them."""

    bound: float  # L(λ): lower bound on the movable units' cost among plans serving served_target accounts
    plain: float  # the better of L(λ) and L(0); only L(λ) goes with `reduced`
    reduced: list[dict[int, float]]  # per unit and option: g ≥ 0, excess over the unit's best option


def tol(value: float) -> float:
    return 1e-6 * (1.0 + abs(value))


def build_gap(problem: Problem, state: State, pool: Pool, budget: float) -> Gap | None:
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
    return Gap(
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


def current_cost(gap: Gap, state: State) -> float:
    return sum(
        gap.units[k].cost_by_csm.get(state.assign[u.index], 0.0)
        for k, u in enumerate(gap.units)
        if state.assign[u.index] != UNASSIGNED
    )


def lagrangian(gap: Gap, state: State) -> Lagrange | None:
    """Solve the LP relaxation with GLOP and turn its duals into a bound we recompute ourselves."""
    # The LP objective is the cost alone: serving is a row (≥ the accounts served now) in the LP.
    model, _, rows = assignment_model(gap, gap.options, [], integer=False, weight=0.0)
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
    return Lagrange(bound=bound, plain=max(bound, plain), reduced=reduced)


def coupling_rows(
    gap: Gap,
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


def assignment_model(
    gap: Gap, options: list[list[int]], held: list[tuple[int, int]], *, integer: bool, weight: float
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
    return model, xs, coupling_rows(gap, model, xs, held)


def exact_options(gap: Gap, state: State, lag: Lagrange) -> list[list[int]] | None:
    """Per unit, the options some plan no dearer than the incumbent could use (reduced-cost fixing).

    Every plan costs at least bound + Σ g_u(c_u) with g ≥ 0, so an option with bound + g above the
    incumbent's cost is in no cheaper plan. Only when every unit must be served (else a plan serving
    more may cost more, and it is preferred).
    """
    if not gap.serve_all:
        return None
    slack = current_cost(gap, state) - lag.bound + tol(lag.bound)
    out = []
    for k, u in enumerate(gap.units):
        now = state.assign[u.index]
        out.append([c for c in gap.options[k] if lag.reduced[k][c] <= slack or c == now])
    return out


def core_options(gap: Gap, state: State, lag: Lagrange, width: int) -> list[list[int]]:
    """Per unit, its `width` best options by reduced cost and the CSM it has now."""
    exact = exact_options(gap, state, lag)
    out = []
    for k, u in enumerate(gap.units):
        allowed = exact[k] if exact is not None else gap.options[k]
        ranked = sorted(allowed, key=lambda c, k=k: (lag.reduced[k][c], c))[:width]  # type: ignore[misc]
        now = state.assign[u.index]
        if now != UNASSIGNED and now not in ranked:
            ranked.append(now)
        out.append(ranked)
    return out
