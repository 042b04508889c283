"""The exact yardstick for rebalances: the least number of moves that puts every CSM inside every band.

    from bench.yardstick import least_moves_with_all_bands
    answer = least_moves_with_all_bands(book, time_limit=60)   # answer.moves, answer.bound, answer.status

A MIP written from CONTRACT.md alone (HiGHS through OR-Tools' MathOpt), pool by pool: every account served
by an eligible CSM, capacity hours, ARR caps, book-size caps, pins and freezes, parents together, and every
CSM with capacity inside the hours band (`balance_tolerance` points around the pool's utilization) and
inside each band of `balance_metrics` (tolerance times the pool's figure per capacity hour, at least ±1 for
counts; a value on the edge is inside); minimise the accounts whose CSM changes. Every account is assumed
servable (the bands are centred on the totals of all accounts); a pool where that or the bands cannot hold
is reported `infeasible`. `bound` is HiGHS's proven lower bound, rounded up to a whole move.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

from ortools.math_opt.python import mathopt

from bench.baselines import Instance, build_instance, pool_of_csm
from solver.metrics import Band, account_figure, balance_bands, integer_edges
from solver.schema import Book


@dataclass
class Yardstick:
    """The least moves with every band held: per pool and in total, with HiGHS's proven bound."""

    status: str  # optimal (every pool proven), feasible, infeasible (some pool has no such plan), unknown
    moves: int | None
    bound: int
    seconds: float
    pools: dict[int, tuple[str, int | None, int]] = field(
        default_factory=dict
    )  # pool -> (status, moves, bound)


def _figure(inst: Instance, band: Band, a: int) -> int:
    return math.ceil(account_figure(inst.accounts[a], band, inst.book, inst.today) - 1e-9)


def _pool_model(
    inst: Instance, accounts: list[int], csms: list[int], bands: list[Band]
) -> tuple[mathopt.Model, dict[tuple[int, int], mathopt.Variable], mathopt.LinearExpression]:
    model = mathopt.Model(name="least_moves_with_all_bands")
    x = {(a, c): model.add_binary_variable() for a in accounts for c in inst.eligible[a] if c in csms}
    for a in accounts:
        # Every account served once, by a CSM who may serve it; a pin or freeze keeps it where it is.
        model.add_linear_constraint(sum(x[a, c] for c in inst.eligible[a] if (a, c) in x) == 1)
        keeper = inst.frozen_to[a]
        if keeper is not None and (a, keeper) in x:
            model.add_linear_constraint(x[a, keeper] == 1)
    for group in inst.groups:
        for a in group[1:]:
            for c in csms:
                if (a, c) in x or (group[0], c) in x:
                    # A parent company goes to one CSM.
                    model.add_linear_constraint(x.get((a, c), 0) - x.get((group[0], c), 0) == 0)
    caps = {c: inst.capacity[c] for c in csms if not inst.left[c]}
    cap_total = sum(caps.values())
    total_hours = sum(inst.base_hours[a] for a in accounts)
    tol = Fraction(inst.book.policy.balance_tolerance).limit_denominator(10_000)
    mean = Fraction(total_hours).limit_denominator(10**6) / Fraction(cap_total).limit_denominator(10**6)
    totals = {b.name: sum(_figure(inst, b, a) for a in accounts) for b in bands}
    for c in csms:
        mine = [(a, x[a, c]) for a in accounts if (a, c) in x]
        load = sum(inst.hours(a, c) * v for a, v in mine)
        model.add_linear_constraint(load <= inst.capacity[c])
        if inst.arr_cap[c] is not None:
            model.add_linear_constraint(sum(inst.accounts[a].arr * v for a, v in mine) <= inst.arr_cap[c])
        if inst.max_accounts[c] is not None:
            model.add_linear_constraint(sum(v for _, v in mine) <= inst.max_accounts[c])
        if caps.get(c, 0) <= 0:
            continue
        cap = Fraction(caps[c]).limit_denominator(10**6)
        model.add_linear_constraint(load <= float((mean + tol) * cap))
        model.add_linear_constraint(load >= float((mean - tol) * cap))
        for b in bands:
            lo, hi = integer_edges(
                b, Fraction(totals[b.name]), Fraction(cap_total).limit_denominator(10**6), cap
            )
            figure = sum(_figure(inst, b, a) * v for a, v in mine)
            model.add_linear_constraint(figure >= lo)
            model.add_linear_constraint(figure <= hi)
    moves = sum(v for (a, c), v in x.items() if inst.current[a] is not None and inst.current[a] != c)
    model.minimize(moves)
    return model, x, moves


def least_moves_with_all_bands(book: Book, time_limit: float = 60.0) -> Yardstick:
    """The least number of moves with every CSM inside every band, pool by pool, with HiGHS's bound."""
    started = time.perf_counter()
    inst = build_instance(book)
    bands = balance_bands(book)
    pool = pool_of_csm(inst)
    by_pool: dict[int, tuple[list[int], list[int]]] = {}
    for c, p in enumerate(pool):
        by_pool.setdefault(p, ([], []))[1].append(c)
    for a, elig in enumerate(inst.eligible):
        if elig:
            by_pool[pool[elig[0]]][0].append(a)
    out = Yardstick(status="optimal", moves=0, bound=0, seconds=0.0)
    for p, (accounts, csms) in sorted(by_pool.items(), key=lambda kv: -len(kv[1][0])):
        if not accounts:
            continue
        left = time_limit - (time.perf_counter() - started)
        model, _, _ = _pool_model(inst, accounts, csms, bands)
        result = mathopt.solve(
            model,
            mathopt.SolverType.HIGHS,
            params=mathopt.SolveParameters(time_limit=dt.timedelta(seconds=max(1.0, left))),
        )
        reason = result.termination.reason
        if reason == mathopt.TerminationReason.INFEASIBLE:
            out.pools[p] = ("infeasible", None, 0)
            out.status = "infeasible"
            continue
        if not result.has_primal_feasible_solution():
            out.pools[p] = ("unknown", None, 0)
            out.status = "unknown" if out.status != "infeasible" else out.status
            out.moves = None
            continue
        moves = round(result.objective_value())
        bound = max(0, math.ceil(result.termination.objective_bounds.dual_bound - 1e-6))
        status = "optimal" if reason == mathopt.TerminationReason.OPTIMAL else "feasible"
        out.pools[p] = (status, moves, bound)
        if status != "optimal" and out.status == "optimal":
            out.status = "feasible"
        if out.moves is not None:
            out.moves += moves
        out.bound += bound
    out.seconds = time.perf_counter() - started
    return out
