"""The Plan of a solved state: assignments, moves and their reasons, loads, pool summaries, bounds and status."""

from __future__ import annotations

import math

from solver import policy as rules
from solver.bounds import pool_plan_bound, pool_served_arr_bound, serves_all
from solver.fairness import plan_fairness
from solver.metrics import red_health_warning
from solver.model import SubResult
from solver.neighbourhood import (
    count_moves_pool,
)
from solver.plan_reasons import band_totals, book_today, move_reason, unassigned_reason, with_health_hours
from solver.problem import HOURS_SCALE, CsmInfo, Pool, Problem
from solver.schema import (
    Assignment,
    CSMLoad,
    Move,
    Plan,
    PlanStatus,
    PoolSummary,
    SolverInfo,
    Unassigned,
)
from solver.state import UNASSIGNED, State, pool_mean


def floor4(x: float) -> float:
    """A lower bound as shown: rounded down to 4 decimals (a hair of float error is not a bound's rise)."""
    return math.floor(x * 10_000 + 1e-9) / 10_000


def infeasible_plan(problem: Problem, solver_info: SolverInfo) -> Plan:
    reason = "no plan: the hard rules contradict each other (see diagnosis)"
    return Plan(
        status="infeasible",
        unassigned=[Unassigned(account=a.id, reason=reason) for a in problem.book.accounts],
        diagnosis=problem.diagnosis,
        objective=problem.book.policy.objective,
        as_of=problem.today,
        solver=solver_info,
    )


def assemble_plan(
    problem: Problem, state: State, results: dict[int, tuple[SubResult, str]], solver_info: SolverInfo
) -> Plan:
    """The Plan of the state: assignments and moves with their reasons, loads, pools, bounds and status."""
    book = problem.book
    pol = book.policy
    assignments, unassigned, moves, total_cost = _assignments_and_moves(problem, state)
    hours = book_hours(problem, state)
    loads = _csm_loads(problem, state, hours)
    summaries: list[PoolSummary] = []
    all_optimal = True
    overall_bound = 0.0
    min_cost = pol.objective == "min_cost"
    cost_bound = 0.0 if min_cost else None
    for pool in problem.pools:
        res, method = results.get(pool.index, (SubResult(proven=False), "not improved (stopped)"))
        summary, bound = _pool_summary(problem, state, pool, res, method, hours)
        if min_cost:
            if res.cost_bound is not None and cost_bound is not None:
                cost_bound += res.cost_bound
            else:
                cost_bound = None
        all_optimal &= summary.status == "optimal"
        overall_bound = max(overall_bound, bound)
        summaries.append(summary)
    max_util = max((ld.utilization for ld in loads if ld.capacity_hours > 0), default=0.0) if loads else None
    true_max = max(
        (book_utilization(info, hours) for info in problem.csms if not info.left and info.capacity_hours > 0),
        default=0.0,
    )
    overall_bound = min(overall_bound, true_max)
    bound_out = floor4(overall_bound) if loads else None
    gap = None
    if max_util is not None and bound_out is not None:
        gap = 0.0 if overall_bound >= true_max - 1e-12 else round(max(0.0, true_max - overall_bound), 4)
    status: PlanStatus = "optimal" if all_optimal else "feasible"
    return Plan(
        status=status,
        assignments=assignments,
        unassigned=unassigned,
        moves=moves,
        csm_loads=loads,
        max_utilization=max_util,
        max_utilization_bound=bound_out,
        gap=gap,
        total_cost=round(total_cost, 4) if min_cost else None,
        cost_bound=(round(min(cost_bound, total_cost), 4) if cost_bound is not None else None)
        if min_cost
        else None,
        diagnosis=[],
        pools=summaries,
        fairness=plan_fairness(problem, state),
        warnings=[w for w in (red_health_warning(book),) if w],
        objective=pol.objective,
        as_of=problem.today,
        solver=solver_info,
    )


def _assignments_and_moves(
    problem: Problem, state: State
) -> tuple[list[Assignment], list[Unassigned], list[Move], float]:
    """Every account's CSM (or why it has none), every move with its reason, and the total pair cost."""
    book = problem.book
    pol = book.policy
    before = book_today(problem)
    pool_means = {p.index: pool_mean(problem, state, p) for p in problem.pools}
    bands = band_totals(problem, state)
    assignments: list[Assignment] = []
    unassigned: list[Unassigned] = []
    moves: list[Move] = []
    pairs = rules.pairs_index(book) if book.pairs else {}
    total_cost = 0.0
    for u in problem.units:
        c = state.assign[u.index]
        if c == UNASSIGNED:
            reason = unassigned_reason(problem, state, u)
            if u.size == 1:
                reason = with_health_hours(reason, problem.account(u.accounts[0]), None, pol)
            unassigned.extend(Unassigned(account=problem.account(i).id, reason=reason) for i in u.accounts)
            continue
        csm_id = problem.csms[c].id
        for i in u.accounts:
            a = problem.account(i)
            assignments.append(Assignment(account=a.id, csm=csm_id))
            p = pairs.get((a.id, csm_id))
            if p is not None and p.cost is not None:
                total_cost += p.cost
            if a.current_csm is not None and a.current_csm != csm_id:
                moves.append(
                    Move(
                        account=a.id,
                        **{"from": a.current_csm},
                        to=csm_id,
                        reason=with_health_hours(
                            move_reason(problem, state, before, i, c, pool_means, bands), a, p, pol
                        ),
                        arr=a.arr,
                        hours=round(rules.pair_hours(a, p, pol), 2),
                    )
                )
    return assignments, unassigned, moves, total_cost


def book_hours(problem: Problem, state: State) -> list[float]:
    """Each CSM's hours (scaled) as the book counts them: the model's, which are exact where every hours
    figure is a whole hundredth; in a pool with finer hours (rounded up in the model), the accounts' own."""
    hours = [float(x) for x in state.load]
    rounded = {c for p in problem.pools if p.hours_rounded for c in p.csms}
    if not rounded:
        return hours
    for c in rounded:
        hours[c] = 0.0
    for u in problem.units:
        c = state.assign[u.index]
        if c in rounded:
            hours[c] += problem.book_hours_of(u, c) * HOURS_SCALE
    return hours


def book_utilization(info: CsmInfo, hours: list[float]) -> float:
    """The CSM's hours in the book over their capacity in the book."""
    return hours[info.index] / (info.capacity_hours * HOURS_SCALE) if info.capacity_hours > 0 else 0.0


def _rounded_share(info: CsmInfo) -> float:
    """The CSM's capacity in the model (rounded down to the hundredth) over the book's, at most 1."""
    return min(1.0, info.capacity / (info.capacity_hours * HOURS_SCALE)) if info.capacity_hours > 0 else 1.0


def _csm_loads(problem: Problem, state: State, hours: list[float]) -> list[CSMLoad]:
    """Each CSM who has not left: hours, utilization, ARR, book size and their caps, and the pool."""
    pool_name = {p.index: p.name for p in problem.pools}
    return [
        CSMLoad(
            csm=info.id,
            hours=round(hours[info.index] / HOURS_SCALE, 2),
            capacity_hours=round(info.capacity_hours, 2),
            utilization=round(book_utilization(info, hours), 4),
            arr=round(state.arr[info.index], 2),
            arr_cap=info.arr_cap,
            accounts=state.count[info.index],
            max_accounts=info.max_accounts,
            pool=pool_name.get(info.pool),
        )
        for info in problem.csms
        if not info.left
    ]


def _pool_summary(
    problem: Problem, state: State, pool: Pool, res: SubResult, method: str, hours: list[float]
) -> tuple[PoolSummary, float]:
    """The pool's figures, status and bounds, and its level bound before rounding (for the plan's)."""
    caps = [c for c in pool.csms if problem.csms[c].capacity > 0]
    level = max((book_utilization(problem.csms[c], hours) for c in caps), default=0.0)
    own = pool_plan_bound(problem, state, pool, serve_proven=res.serve_proven)
    bound = max(x for x in (own, res.level_bound, 0.0) if x is not None)
    if pool.hours_rounded and caps:
        rounded = sum(problem.units[i].rounded_up for i in pool.units)
        # Hours finer than a hundredth are rounded up in the model (capacity down): the bound, proven on
        # those, is lowered by what the rounding can add to a CSM's utilization.
        bound = max(0.0, bound - (rounded + 1) / min(problem.csms[c].capacity for c in caps))
    # The model's utilization is over capacity rounded down to the hundredth; the book's over the capacity
    # itself (a ramping CSM's 1,522.0091 h): what the model proves is lowered by their least ratio.
    bound *= min((_rounded_share(problem.csms[c]) for c in caps), default=1.0)
    bound = min(bound, level)
    optimal = res.proven and "lns" not in res.phases
    if (
        problem.book.policy.objective != "min_cost"
        and not optimal
        and level - bound <= 1e-9
        and serves_all(problem, state, pool)
        and not problem.has_current
        and not problem.bands
    ):
        # A fresh book at its proven lower bound: nothing left to prove (with balance_metrics the band
        # count and the spreads would still need their proofs).
        optimal = True
    served_arr = sum(problem.units[i].arr for i in pool.units if state.assign[i] != UNASSIGNED)
    # The model's bound (its MIP or CP-SAT's) where it has one, and the pool's relaxation always.
    arr_bound = min(b for b in (res.served_arr_bound, pool_served_arr_bound(problem, pool)) if b is not None)
    demand = sum(hours[c] for c in pool.csms) / HOURS_SCALE
    cap_hours = sum(problem.csms[c].capacity_hours for c in pool.csms)
    summary = PoolSummary(
        pool=pool.name,
        csms=[problem.csms[c].id for c in pool.csms],
        accounts=sum(problem.units[i].size for i in pool.units),
        demand_hours=round(demand, 2),
        capacity_hours=round(cap_hours, 2),
        mean_utilization=round(demand / cap_hours, 4) if cap_hours else 0.0,
        max_utilization=round(level, 4),
        # A lower bound is rounded down, even where it meets the level (CONTRACT: never shown above the value
        # it bounds); the gap says 0 when they meet.
        max_utilization_bound=floor4(bound),
        status="optimal" if optimal else "feasible",
        moves=count_moves_pool(problem, state, pool),
        moves_bound=res.moves_bound,
        method=method,
        served_arr=round(served_arr, 2),
        served_arr_bound=float(max(math.ceil(served_arr - 1e-6), arr_bound)),
    )
    return summary, bound
