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

import ortools

from solver.arr_swaps import even_out_arr_by_swaps
from solver.bounds import pool_plan_bound
from solver.construct import construct
from solver.handoffs import schedule_handoffs
from solver.model import Params, SubResult
from solver.neighbourhood import (
    FULL_MODEL_VARIABLES,
    estimate_variables,
    large_neighbourhood_search,
)
from solver.plan_assembly import assemble_plan, infeasible_plan
from solver.plan_reasons import count_moves
from solver.pool_improve import (
    SERVE_FIRST_SHARE,
    improve_pool,
    optimize_whole_pool,
    pool_time_shares,
    pool_weight,
    second_pass_shares,
    serve_first,
    serve_more_by_recuts,
)
from solver.prepare import build_problem
from solver.problem import Pool, Problem
from solver.schema import (
    Book,
    Plan,
    SolverInfo,
)
from solver.state import UNASSIGNED, State, home_csm, pool_mean


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
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    order = list(book.policy.balance_metrics)
    if len(order) > 1:
        # The metrics' order is their priority (CONTRACT): the sorted keys above do not keep it.
        text += "|balance_metrics order:" + ",".join(order)
    return hashlib.sha256(text.encode()).hexdigest()


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
        return infeasible_plan(problem, info())

    run = _Run(problem, params, started, on_progress)
    for pool in problem.pools:
        construct(problem, run.state, pool, band=run.band, min_cost=run.min_cost)
    if pol.max_moves is not None:
        _enforce_max_moves(problem, run.state, pol.max_moves)
    run.report("constructed", 0)
    # Time: the passes end `finishing_seconds` before the limit, counted from the solve's start; what
    # construction took comes off them. (Deterministic mode leaves the wall clock out: its budgets are
    # CP-SAT's deterministic time, a fixed share of the limit.)
    if pol.deterministic:
        elapsed, horizon = 0.0, max(0.2, limit * 0.9 - 0.3)
    else:
        elapsed = time.monotonic() - started
        horizon = max(elapsed + 0.2, limit - finishing_seconds(problem, limit))
    available = horizon - elapsed
    # Tight pools first serve what they can by exchanges and re-cuts, in turns by the ARR at stake.
    serve_seconds = available * SERVE_FIRST_SHARE
    served_first = run.serve_first(serve_seconds)
    first_pass_end = elapsed + available * 0.7
    # Deterministic budgets are shares fixed up front: the serve-first turns' share comes off the first pass
    # only where some pool took them.
    run.first_pass(first_pass_end - (serve_seconds if pol.deterministic and served_first else 0.0))
    run.second_pass(horizon, first_pass_end)
    run.last_arr_repair(arr_repair_seconds(problem, limit))
    return schedule_handoffs(book, assemble_plan(problem, run.state, run.results, info()))


# After the passes: the last ARR band repair (books with an ARR band: 1.5 s, or a tenth of a shorter
# limit's 15 s), then the plan's assembly and handoff schedule (5.2 s for 100,000 accounts on this
# project's machine, 0.5 s for 20,000; 80 us an account leaves room for a noisy machine), and a margin.
ARR_REPAIR_SECONDS = 1.5
ARR_REPAIR_SHARE = 0.1
FINISHING_SECONDS_PER_ACCOUNT = 80e-6
FINISHING_MARGIN_SECONDS = 0.3


def arr_repair_seconds(problem: Problem, limit: float) -> float:
    """The last ARR band repair's time: none without an ARR band (or for min_cost)."""
    if problem.book.policy.objective == "min_cost" or not any(b.metric == "arr" for b in problem.bands):
        return 0.0
    return min(ARR_REPAIR_SECONDS, ARR_REPAIR_SHARE * limit)


def finishing_seconds(problem: Problem, limit: float) -> float:
    """The time the solve keeps back from its limit for what follows the passes."""
    return (
        FINISHING_MARGIN_SECONDS
        + arr_repair_seconds(problem, limit)
        + FINISHING_SECONDS_PER_ACCOUNT * len(problem.book.accounts)
    )


class _Run:
    """One solve's pools after construction: the plan so far (`state`), each pool's result, and the
    progress reports."""

    def __init__(
        self,
        problem: Problem,
        params: Params,
        started: float,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.problem, self.params, self.started, self.on_progress = problem, params, started, on_progress
        self.state = State.empty(problem)
        pol = problem.book.policy
        self.min_cost = pol.objective == "min_cost"
        self.band = None if self.min_cost else pol.balance_tolerance
        self.results: dict[int, tuple[SubResult, str]] = {}
        self.pool_bounds: dict[int, float] = {}

    def stopped(self) -> bool:
        return self.params.should_stop is not None and self.params.should_stop()

    def report(self, phase: str, done: int) -> None:
        """Progress: the plan's largest utilization, its proven bound so far, moves and accounts unserved."""
        if self.on_progress is None:
            return
        problem, state = self.problem, self.state
        loads = [state.utilization(c) for p in problem.pools for c in p.csms if problem.csms[c].capacity > 0]
        for p in problem.pools:
            if p.index in self.results or p.index not in self.pool_bounds:
                bounds = [pool_plan_bound(problem, state, p)]
                if p.index in self.results:
                    bounds.append(self.results[p.index][0].level_bound)
                self.pool_bounds[p.index] = max((b for b in bounds if b is not None), default=0.0)
        bound = max(self.pool_bounds.values(), default=None) if not self.min_cost else None
        self.on_progress(
            Progress(
                elapsed_seconds=round(time.monotonic() - self.started, 3),
                phase=phase,
                pools_done=done,
                pools_total=len(problem.pools),
                max_utilization=round(max(loads), 4) if loads else None,
                max_utilization_bound=math.floor(bound * 10_000) / 10_000 if bound is not None else None,
                moves=count_moves(problem, state),
                unassigned=sum(
                    1 for u in problem.units if state.assign[u.index] == UNASSIGNED for _ in u.accounts
                ),
            )
        )

    def serve_first(self, seconds: float) -> bool:
        """Where some pools cannot serve every account: their exchange searches and re-cuts, in turns.
        Returns whether any pool took part."""
        if not self.min_cost and serve_first(self.problem, self.state, self.params, seconds):
            self.report("tight pools served first", 0)
            return True
        return False

    def first_pass(self, seconds: float) -> None:
        """Every pool improved once, largest share of the time first; a pool that finishes early hands its
        time on (except in deterministic mode, where budgets are fixed up front)."""
        problem, state, params = self.problem, self.state, self.params
        shares = pool_time_shares(problem, state, problem.pools)
        remaining_share = 1.0
        for done, pool in enumerate(sorted(problem.pools, key=lambda p: -shares[p.index]), start=1):
            if self.stopped():
                break
            if params.deterministic:
                budget = seconds * shares[pool.index]
            else:
                left = seconds - (time.monotonic() - self.started)
                budget = max(0.05, left * shares[pool.index] / max(1e-9, remaining_share))
            remaining_share -= shares[pool.index]
            self.results[pool.index] = improve_pool(
                problem, state, pool, params, band=self.band, budget=budget, min_cost=self.min_cost
            )
            if not self.min_cost and not self.results[pool.index][0].proven:
                # ARR band repair where the model proved nothing (bucketed ARR): swaps that change only ARR.
                even_out_arr_by_swaps(
                    problem, state, pool, None if params.deterministic else time.monotonic() + 0.2 * budget
                )
            self.report(f"pool {pool.name}", done)

    def second_pass(self, seconds: float, first_pass: float) -> None:
        """The time left goes to the pools not yet proven: in equal parts, largest first; where some cannot
        serve every account, by the ARR still at stake as in the first pass."""
        problem, state, params = self.problem, self.state, self.params
        unproven = [
            p for p in problem.pools if p.index in self.results and not self.results[p.index][0].proven
        ]
        unproven.sort(key=lambda p: -pool_weight(problem, p))
        again_shares = second_pass_shares(problem, state, unproven)
        unproven.sort(key=lambda p: -again_shares[p.index])
        remaining_share = 1.0
        for pool in unproven:
            if self.stopped():
                break
            if params.deterministic:
                budget = (seconds - first_pass) * again_shares[pool.index]
            else:
                left = seconds - (time.monotonic() - self.started)
                budget = left * again_shares[pool.index] / max(1e-9, remaining_share)
            remaining_share -= again_shares[pool.index]
            if budget < 0.1:
                break
            again, method = _improve_again(
                problem, state, pool, params, self.band, budget, self.results[pool.index]
            )
            self.results[pool.index] = (again, method + ", second pass")
            self.report(f"pool {pool.name} (second pass)", len(problem.pools))

    def last_arr_repair(self, seconds: float) -> None:
        """The second pass may have moved ARR again: a last ARR band repair (swaps that move only ARR),
        `seconds` for all pools together."""
        if self.min_cost:
            return
        repair_until = time.monotonic() + seconds
        for pool in self.problem.pools:
            if pool.index in self.results and not self.results[pool.index][0].proven:
                even_out_arr_by_swaps(
                    self.problem, self.state, pool, None if self.params.deterministic else repair_until
                )


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
    else:
        # A tight pool first re-cuts its books again, from where the first pass left them.
        started = time.monotonic()
        serve_more_by_recuts(problem, state, pool, params, 0.35 * budget)
        if not params.deterministic:
            budget = max(0.05, budget - (time.monotonic() - started))
        if estimate_variables(problem, pool) <= FULL_MODEL_VARIABLES:
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
