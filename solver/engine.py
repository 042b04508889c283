"""The engine: plan a book pool by pool — construct, improve with CP-SAT, bound, explain.

See solver/README.md for the design. `solve(book)` always returns a Plan whose status, bound and gap say
honestly how good it is; hard-rule contradictions come back as `status: infeasible` with a diagnosis.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import ortools

from solver import policy as rules
from solver.arr_swaps import even_out_arr_by_swaps
from solver.bounds import pool_plan_bound, pool_served_arr_bound, serves_all
from solver.construct import (
    UNASSIGNED,
    State,
    construct,
    home_csm,
    pool_mean,
)
from solver.fairness import plan_fairness
from solver.handoffs import schedule_handoffs
from solver.metrics import band_edges, red_health_warning
from solver.model import Params, SubResult
from solver.neighbourhood import (
    FULL_MODEL_VARIABLES,
    count_moves_pool,
    estimate_variables,
    large_neighbourhood_search,
)
from solver.pool_improve import (
    improve_pool,
    optimize_whole_pool,
    pool_time_shares,
    pool_weight,
    second_pass_shares,
)
from solver.prepare import HOURS_SCALE, Pool, Problem, Unit, build_problem, hours_text, money
from solver.schema import (
    BUILTIN_TIERS,
    Account,
    Assignment,
    Book,
    CSMLoad,
    Move,
    Pair,
    Plan,
    PlanStatus,
    Policy,
    PoolSummary,
    SolverInfo,
    Unassigned,
)


@dataclass
class Progress:
    elapsed_seconds: float
    phase: str
    pools_done: int
    pools_total: int
    max_utilization: float | None
    max_utilization_bound: float | None
    moves: int
    unassigned: int


def input_sha256(book: Book) -> str:
    """A stable fingerprint of the input: the same book gives the same hash."""
    data = book.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def solve(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Plan the book: every account assigned or explained, every hard rule kept, bound and gap reported."""
    started = time.monotonic()
    pol = book.policy
    limit = time_limit if time_limit is not None else pol.time_limit_seconds
    workers = pol.workers or (1 if pol.deterministic else 2)
    params = Params(workers=workers, seed=pol.seed, deterministic=pol.deterministic, should_stop=should_stop)
    problem = build_problem(book)
    digest = input_sha256(book)

    def info() -> SolverInfo:
        return SolverInfo(
            version=str(getattr(ortools, "__version__", "unknown")),
            seconds=round(time.monotonic() - started, 3),
            seed=pol.seed,
            input_sha256=digest,
            deterministic=pol.deterministic,
            workers=workers,
        )

    if problem.diagnosis:
        return _infeasible_plan(problem, info())

    state = State.empty(problem)
    min_cost = pol.objective == "min_cost"
    tol = pol.balance_tolerance
    band = None if min_cost else tol
    for pool in problem.pools:
        construct(problem, state, pool, band=band, min_cost=min_cost)
    if pol.max_moves is not None:
        _enforce_max_moves(problem, state, pol.max_moves)

    pool_bounds: dict[int, float] = {}
    results: dict[int, tuple[SubResult, str]] = {}

    def report(phase: str, done: int) -> None:
        if on_progress is None:
            return
        loads = [state.utilization(c) for p in problem.pools for c in p.csms if problem.csms[c].capacity > 0]
        for p in problem.pools:
            if p.index in results or p.index not in pool_bounds:
                bounds = [pool_plan_bound(problem, state, p)]
                if p.index in results:
                    bounds.append(results[p.index][0].level_bound)
                pool_bounds[p.index] = max((b for b in bounds if b is not None), default=0.0)
        bound = max(pool_bounds.values(), default=None) if not min_cost else None
        on_progress(
            Progress(
                elapsed_seconds=round(time.monotonic() - started, 3),
                phase=phase,
                pools_done=done,
                pools_total=len(problem.pools),
                max_utilization=round(max(loads), 4) if loads else None,
                max_utilization_bound=math.floor(bound * 10_000) / 10_000 if bound is not None else None,
                moves=_count_moves(problem, state),
                unassigned=sum(
                    1 for u in problem.units if state.assign[u.index] == UNASSIGNED for _ in u.accounts
                ),
            )
        )

    report("constructed", 0)
    # Time: what is left after construction, shared by pool size; a pool that finishes early hands its
    # time on (except in deterministic mode, where budgets are fixed up front).
    # (Deterministic mode leaves the wall clock out: its budgets are CP-SAT's deterministic time.)
    elapsed = 0.0 if pol.deterministic else time.monotonic() - started
    available = max(0.2, limit * 0.9 - elapsed - 0.3)
    shares = pool_time_shares(problem, state, problem.pools)
    remaining_share = 1.0
    first_pass = available * 0.7
    for done, pool in enumerate(sorted(problem.pools, key=lambda p: -shares[p.index]), start=1):
        if should_stop is not None and should_stop():
            break
        if pol.deterministic:
            budget = first_pass * shares[pool.index]
        else:
            left = first_pass - (time.monotonic() - started)
            budget = max(0.05, left * shares[pool.index] / max(1e-9, remaining_share))
        remaining_share -= shares[pool.index]
        results[pool.index] = improve_pool(
            problem, state, pool, params, band=band, budget=budget, min_cost=min_cost
        )
        if not min_cost and not results[pool.index][0].proven:
            # ARR band repair where the model proved nothing (bucketed ARR): swaps that change only ARR.
            even_out_arr_by_swaps(
                problem, state, pool, None if pol.deterministic else time.monotonic() + 0.2 * budget
            )
        report(f"pool {pool.name}", done)

    # Second pass: the time left goes to the pools not yet proven: in equal parts, largest first; where
    # some cannot serve every account, by the ARR still at stake as in the first pass.
    unproven = [p for p in problem.pools if p.index in results and not results[p.index][0].proven]
    unproven.sort(key=lambda p: -pool_weight(problem, p))
    again_shares = second_pass_shares(problem, state, unproven)
    unproven.sort(key=lambda p: -again_shares[p.index])
    remaining_share = 1.0
    for pool in unproven:
        if should_stop is not None and should_stop():
            break
        if pol.deterministic:
            budget = (available - first_pass) * again_shares[pool.index]
        else:
            left = available - (time.monotonic() - started)
            budget = left * again_shares[pool.index] / max(1e-9, remaining_share)
        remaining_share -= again_shares[pool.index]
        if budget < 0.1:
            break
        again, method = _improve_again(problem, state, pool, params, band, budget, results[pool.index])
        results[pool.index] = (again, method + ", second pass")
        report(f"pool {pool.name} (second pass)", len(problem.pools))

    # The second pass may have moved ARR again: a last ARR band repair (swaps that move only ARR).
    repair_until = time.monotonic() + 1.5  # for all pools together
    for pool in problem.pools if not min_cost else ():
        if pool.index in results and not results[pool.index][0].proven:
            even_out_arr_by_swaps(problem, state, pool, None if pol.deterministic else repair_until)
    return schedule_handoffs(book, _assemble(problem, state, results, info()))


def _improve_again(
    problem: Problem,
    state: State,
    pool: Pool,
    params: Params,
    band: float | None,
    budget: float,
    first_pass: tuple[SubResult, str],
) -> tuple[SubResult, str]:
    """The second pass on one unproven pool, from the plan it has; its bounds are the better of both passes."""
    first, method = first_pass
    min_cost = problem.book.policy.objective == "min_cost"
    if min_cost:
        again, method = improve_pool(problem, state, pool, params, band=band, budget=budget, min_cost=True)
    elif estimate_variables(problem, pool) <= FULL_MODEL_VARIABLES:
        # The whole pool again, from the plan it has: the level phase starts at the incumbent and the
        # decision loop gets the time the first pass could not give it to prove (or improve) it.
        again, method = optimize_whole_pool(problem, state, pool, params, band, budget, level_share=0.3)
    else:
        mean_band = (pool_mean(problem, state, pool), band) if band is not None else None
        again = large_neighbourhood_search(problem, state, pool, params, mean_band, budget, False, size=3)
    bounds = [b for b in (first.level_bound, again.level_bound) if b is not None]
    again.level_bound = max(bounds) if bounds else None
    if first.moves_bound is not None and (again.moves_bound or 0) < first.moves_bound:
        again.moves_bound = first.moves_bound
    arr_bounds = [b for b in (first.served_arr_bound, again.served_arr_bound) if b is not None]
    again.served_arr_bound = min(arr_bounds) if arr_bounds else None
    return again, method


def floor4(x: float) -> float:
    """A lower bound as shown: rounded down to 4 decimals (a hair of float error is not a bound's rise)."""
    return math.floor(x * 10_000 + 1e-9) / 10_000


def _enforce_max_moves(problem: Problem, state: State, max_moves: int) -> None:
    """Undo construction moves beyond `max_moves`: first the moves whose account can go back home (a
    balancing move given up), only then, if still over, leave moved units unserved (smallest ARR first)."""
    moved = [
        u
        for u in problem.units
        if state.assign[u.index] != UNASSIGNED and u.moves_if(problem.csms[state.assign[u.index]].id) > 0
    ]
    total = sum(u.moves_if(problem.csms[state.assign[u.index]].id) for u in moved)
    for send_home_only in (True, False):
        for u in sorted(moved, key=lambda u: u.arr):
            if total <= max_moves:
                return
            if u.fixed is not None or state.assign[u.index] == UNASSIGNED:
                continue  # frozen: its moves are forced (prepare diagnoses when they exceed max_moves)
            cost = u.moves_if(problem.csms[state.assign[u.index]].id)
            if cost == 0:
                continue  # already sent home in the first pass
            home = home_csm(problem, u)
            current = state.assign[u.index]
            state.remove(u)
            if (
                home is not None
                and home in u.eligible
                and state.fits(u, home)
                and u.moves_if(problem.csms[home].id) == 0
            ):
                state.place(u, home)
            elif send_home_only:
                state.place(u, current)
                continue
            total -= cost


def _count_moves(problem: Problem, state: State) -> int:
    return sum(
        u.moves_if(problem.csms[state.assign[u.index]].id)
        for u in problem.units
        if state.assign[u.index] != UNASSIGNED
    )


# ---------------------------------------------------------------- the Plan


def _infeasible_plan(problem: Problem, solver_info: SolverInfo) -> Plan:
    reason = "no plan: the hard rules contradict each other (see diagnosis)"
    return Plan(
        status="infeasible",
        unassigned=[Unassigned(account=a.id, reason=reason) for a in problem.book.accounts],
        diagnosis=problem.diagnosis,
        objective=problem.book.policy.objective,
        as_of=problem.today,
        solver=solver_info,
    )


@dataclass
class _Before:
    """Each CSM's book as it is today (from current_csm), for the reasons of moves."""

    hours: dict[str, float]
    arr: dict[str, float]
    count: dict[str, int]


def _before(problem: Problem) -> _Before:
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
    return _Before(hours, arr, count)


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def _move_reason(
    problem: Problem,
    state: State,
    before: _Before,
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


def _with_health_hours(reason: str, account: Account, pair: Pair | None, policy: Policy) -> str:
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
    problem: Problem, before: _Before, giver: str, taker: str, totals: tuple[float, float] | None
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


def _unassigned_reason(problem: Problem, state: State, u: Unit) -> str:
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
    if pol.max_moves is not None and u.moves_if("") > 0 and _count_moves(problem, state) >= pol.max_moves:
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


def _assemble(
    problem: Problem, state: State, results: dict[int, tuple[SubResult, str]], solver_info: SolverInfo
) -> Plan:
    """The Plan of the state: assignments and moves with their reasons, loads, pools, bounds and status."""
    book = problem.book
    pol = book.policy
    assignments, unassigned, moves, total_cost = _assignments_and_moves(problem, state)
    loads = _csm_loads(problem, state)
    summaries: list[PoolSummary] = []
    all_optimal = True
    overall_bound = 0.0
    min_cost = pol.objective == "min_cost"
    cost_bound = 0.0 if min_cost else None
    for pool in problem.pools:
        res, method = results.get(pool.index, (SubResult(proven=False), "not improved (stopped)"))
        summary, bound = _pool_summary(problem, state, pool, res, method)
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
        (state.utilization(info.index) for info in problem.csms if not info.left and info.capacity > 0),
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
    before = _before(problem)
    pool_means = {p.index: pool_mean(problem, state, p) for p in problem.pools}
    arr_bands: dict[int, tuple[float, float]] = {}
    if any(b.metric == "arr" for b in problem.bands):
        for pl in problem.pools:
            arr_bands[pl.index] = (
                sum(state.arr[c] for c in pl.csms),
                sum(problem.csms[c].capacity for c in pl.csms),
            )
    assignments: list[Assignment] = []
    unassigned: list[Unassigned] = []
    moves: list[Move] = []
    pairs = rules.pairs_index(book) if book.pairs else {}
    total_cost = 0.0
    for u in problem.units:
        c = state.assign[u.index]
        if c == UNASSIGNED:
            reason = _unassigned_reason(problem, state, u)
            if u.size == 1:
                reason = _with_health_hours(reason, problem.account(u.accounts[0]), None, pol)
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
                        reason=_with_health_hours(
                            _move_reason(problem, state, before, i, c, pool_means, arr_bands), a, p, pol
                        ),
                        arr=a.arr,
                        hours=round(rules.pair_hours(a, p, pol), 2),
                    )
                )
    return assignments, unassigned, moves, total_cost


def _csm_loads(problem: Problem, state: State) -> list[CSMLoad]:
    """Each CSM who has not left: hours, utilization, ARR, book size and their caps, and the pool."""
    pool_name = {p.index: p.name for p in problem.pools}
    return [
        CSMLoad(
            csm=info.id,
            hours=round(state.load[info.index] / HOURS_SCALE, 2),
            capacity_hours=round(info.capacity / HOURS_SCALE, 2),
            utilization=round(state.utilization(info.index), 4) if info.capacity > 0 else 0.0,
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
    problem: Problem, state: State, pool: Pool, res: SubResult, method: str
) -> tuple[PoolSummary, float]:
    """The pool's figures, status and bounds, and its level bound before rounding (for the plan's)."""
    caps = [c for c in pool.csms if problem.csms[c].capacity > 0]
    level = max((state.utilization(c) for c in caps), default=0.0)
    own = pool_plan_bound(problem, state, pool, serve_proven=res.serve_proven)
    bound = max(x for x in (own, res.level_bound, 0.0) if x is not None)
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
    demand = sum(state.load[c] for c in pool.csms) / HOURS_SCALE
    cap_hours = sum(problem.csms[c].capacity for c in pool.csms) / HOURS_SCALE
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
