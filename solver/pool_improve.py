"""One pool's improvement after construction: the local searches that run before the model (the level's,
or the tight pool's exchange search), the pool model itself, and the level's search within the bands after
it. `engine.solve` gives each pool its time (`pool_weight`) and calls `improve_pool`, then
`optimize_whole_pool` again in its second pass."""

from __future__ import annotations

import time

from solver.band_keeper import BandKeeper
from solver.bounds import pool_plan_bound, pool_served_arr_bound, serves_all
from solver.level_search import level_by_local_search
from solver.model import Params, PoolModel, SubResult, optimize
from solver.neighbourhood import (
    FULL_MODEL_VARIABLES,
    count_moves_pool,
    estimate_variables,
    large_neighbourhood_search,
    moves_budget,
)
from solver.pair_split import split_pairs_exactly
from solver.problem import Pool, Problem
from solver.serve_fill import TableWork, serve_more_by_filling
from solver.serve_knapsack import MIN_UNITS_PER_CSM, packs_small_accounts, serve_more_by_knapsack
from solver.serve_phase import EVERYONE_QUESTION_VARIABLES, no_plan_serves_everyone, pool_everyone_arr
from solver.serve_repack import REPACK_SECONDS, Repacker, serve_more_by_repacking
from solver.serve_swaps import serve_more_by_exchanges
from solver.state import UNASSIGNED, State, pool_mean

# Deterministic mode's limit on the serve exchanges (accounts looked at): a second or two at most.
SERVE_SEARCH_WORK = 2_000_000


def pool_moves_left(problem: Problem, state: State, pool: Pool) -> int | None:
    """How many more accounts of the pool may change CSM under `policy.max_moves` (None: no limit)."""
    budget = moves_budget(problem, state, pool)
    return None if budget is None else max(0, budget - count_moves_pool(problem, state, pool, free=True))


def pool_weight(problem: Problem, pool: Pool) -> float:
    return max(1.0, float(len(pool.units))) ** 0.75 * max(1, len(pool.csms)) ** 0.25


# In a book where some pools cannot serve every account, this share of the time follows the ARR at stake.
SERVE_TIME_SHARE = 0.5


def arr_at_stake(problem: Problem, state: State, pool: Pool) -> float:
    """The ARR the pool's plan leaves unserved that some plan might still serve: its proven servable-ARR
    bound less what it serves now (0 when it serves every account)."""
    if serves_all(problem, state, pool):
        return 0.0
    served = sum(problem.units[i].arr for i in pool.units if state.assign[i] != UNASSIGNED)
    return max(0.0, pool_served_arr_bound(problem, pool) - served)


def pool_time_shares(problem: Problem, state: State, pools: list[Pool]) -> dict[int, float]:
    """Each pool's share of the solve time (summing to 1): by size (`pool_weight`); where some pools cannot
    serve every account, half of it instead by the ARR each leaves at stake. A tight pool's serve phase is
    hard whatever its size: the few large accounts of a strategic pool are the hardest packing of all, and
    the most ARR rides on it."""
    stakes = {p.index: arr_at_stake(problem, state, p) for p in pools}
    return _shares({p.index: pool_weight(problem, p) for p in pools}, stakes)


def second_pass_shares(problem: Problem, state: State, unproven: list[Pool]) -> dict[int, float]:
    """The second pass's shares of the time left among the unproven pools: equal, unless some still leave
    ARR at stake; then as `pool_time_shares`."""
    stakes = {p.index: arr_at_stake(problem, state, p) for p in unproven}
    if not any(stakes.values()):
        return {p.index: 1 / len(unproven) for p in unproven}
    return _shares({p.index: pool_weight(problem, p) for p in unproven}, stakes)


def _shares(sizes: dict[int, float], stakes: dict[int, float]) -> dict[int, float]:
    """Shares by size, half of them by ARR at stake when any pool has some."""
    total_size = sum(sizes.values()) or 1.0
    total_stake = sum(stakes.values())
    if total_stake <= 0:
        return {i: w / total_size for i, w in sizes.items()}
    return {
        i: (1 - SERVE_TIME_SHARE) * sizes[i] / total_size + SERVE_TIME_SHARE * stakes[i] / total_stake
        for i in sizes
    }


def serve_more_by_recuts(problem: Problem, state: State, pool: Pool, params: Params, seconds: float) -> None:
    """Re-cut a few CSMs' books at a time (solver/serve_repack.py) for `seconds` (in deterministic mode, as
    many small models as fit that many seconds of CP-SAT's deterministic time): a tight pool does so after
    its exchange search in the first pass (a tenth of its time) and before its model in the second (35 %).
    On the tight 20k book's strategic pools, a few seconds of re-cuts serve more ARR than a 60 s MIP."""
    if serves_all(problem, state, pool):
        return
    serve_more_by_repacking(
        problem,
        state,
        pool,
        None if params.deterministic else time.monotonic() + seconds,
        max_rounds=max(1, int(seconds / REPACK_SECONDS)) if params.deterministic else 1 << 62,
        seed=params.seed + pool.index,
        deterministic=params.deterministic,
    )


# In a book where some pools cannot serve every account, this share of the time goes to their exchange
# searches and re-cuts before any pool model runs, in turns, to the pool with the most ARR at stake. (On
# the tight 20k book at 27 s, 0.3 here and 0.1 of each pool's own time served $587.2M; 0.15 and 0.35,
# $587.1M; no turns and 0.35, $586.5-586.8M. With the re-cuts' groups drawn by spare hours, 3 runs each:
# 0.3 served $587.45-587.49M, strategic / APAC $47.518M in all 3; 0.45 served $587.43-587.47M, strategic /
# APAC $47.528M in all 3 and every strategic pool at or above the 60 s MIP in 8 of 9 pool-runs, against 6
# of 9.)
SERVE_FIRST_SHARE = 0.45
SERVE_FIRST_SLICE = 0.5  # seconds per turn
KNAPSACK_SHARE_OF_SERVE_FIRST = 0.15  # for the pools of many small accounts (solver/serve_knapsack.py)
# For every tight pool, after its exchange search, the books filled one at a time (solver/serve_fill.py),
# the pools with most ARR at stake first: at most this share (the tight 20k book's nine tight pools took
# 1.7-2.1 s of 10.5 s); in deterministic mode, as many cells of the books' tables as that share takes at
# FILL_CELLS_PER_SECOND (measured: 476M a second on that book's tables by hours, about 200M on tables by
# hours and book size).
FILL_SHARE_OF_SERVE_FIRST = 0.3
FILL_CELLS_PER_SECOND = 400_000_000
# For the pools of few accounts a CSM whose bound leaves room for everyone: CP-SAT asked for a plan serving
# every account, at most 2.5 s a pool (the tight 20k book's strategic / APAC: found in 0.2-1.9 s, 8 seeds of
# 8, on a model whose accounts of any ARR share a class; a class per ARR value took 0.7-1.7 s in 7 of 8 and
# nothing in 10 s in the eighth).
EVERYONE_SHARE_OF_SERVE_FIRST = 0.25
EVERYONE_SECONDS = 2.5


def serve_first(problem: Problem, state: State, params: Params, seconds: float) -> bool:
    """The tight pools take turns. First each runs its exchange search once, then fills its books one at a
    time with the most ARR each holds where that serves more (solver/serve_fill.py), and those of many small
    accounts a CSM serve their knapsack where it splits among the CSMs (solver/serve_knapsack.py); those of
    few accounts a CSM whose bound leaves room for everyone ask CP-SAT for a plan serving them all
    (`serve_everyone_by_model`); then,
    each turn, the pool with the most ARR still at stake (its servable-ARR bound less what it serves,
    divided by one more than the turns it has had, and halved for each turn in a row that gained nothing)
    re-cuts its books for a slice of the time. A pool leaves the turns once every group of its CSMs is proven to have no better
    split, or it serves everyone. Returns whether any pool took part."""
    if problem.book.policy.max_moves is not None:
        return False
    tight = [p for p in problem.pools if p.units and not serves_all(problem, state, p)]
    if not tight:
        return False
    started = time.monotonic()
    rounds_left = int(seconds / REPACK_SECONDS)  # deterministic mode: small models, not seconds
    bound = {p.index: pool_served_arr_bound(problem, p) for p in tight}
    misses = dict.fromkeys(bound, 0)
    turns = dict.fromkeys(bound, 0)
    repackers = {
        p.index: Repacker(problem, state, p, params.seed + p.index, params.deterministic) for p in tight
    }

    def at_stake(p: Pool) -> float:
        served = sum(problem.units[i].arr for i in p.units if state.assign[i] != UNASSIGNED)
        return max(0.0, bound[p.index] - served) / (1 + turns[p.index]) / 2 ** misses[p.index]

    for p in tight:
        serve_more_by_exchanges(
            problem,
            state,
            p,
            None if params.deterministic else time.monotonic() + 0.1 * seconds / len(tight),
            max_work=SERVE_SEARCH_WORK // len(tight) if params.deterministic else None,
            moves_left=None,
        )
    fill_until = time.monotonic() + FILL_SHARE_OF_SERVE_FIRST * seconds
    fill_work, fill_cells = TableWork(), FILL_CELLS_PER_SECOND * FILL_SHARE_OF_SERVE_FIRST * seconds

    def stop_filling() -> bool:
        if params.should_stop is not None and params.should_stop():
            return True
        if params.deterministic:
            return fill_work.cells > fill_cells
        return time.monotonic() > fill_until

    for p in sorted(tight, key=at_stake, reverse=True):
        # Every book filled in turn with the most ARR its room holds, where that serves more.
        serve_more_by_filling(problem, state, p, stop_filling, fill_work)
    small = [p for p in tight if packs_small_accounts(problem, p) and not serves_all(problem, state, p)]
    for p in small:
        # Pools of many small accounts: the knapsack of what to serve, split among the CSMs exactly.
        seconds_each = KNAPSACK_SHARE_OF_SERVE_FIRST * seconds / len(small)
        serve_more_by_knapsack(
            problem, state, p, seconds_each, seed=params.seed + p.index, deterministic=params.deterministic
        )
        if params.deterministic:
            rounds_left -= int(seconds_each / REPACK_SECONDS)
    tight = [p for p in tight if not serves_all(problem, state, p)]
    # Pools of few accounts a CSM whose bound leaves room for every account: is there a plan serving all?
    whole = [
        p
        for p in tight
        if few_accounts_a_csm(problem, p) and bound[p.index] >= pool_everyone_arr(problem, p) - 0.5
    ]
    for p in whole:
        seconds_each = min(EVERYONE_SECONDS, EVERYONE_SHARE_OF_SERVE_FIRST * seconds / len(whole))
        serve_everyone_by_model(problem, state, p, params, seconds_each)
        if params.deterministic:
            rounds_left -= int(seconds_each / REPACK_SECONDS)
    tight = [p for p in tight if not serves_all(problem, state, p)]
    while tight:
        left = seconds - (time.monotonic() - started)
        if (left <= 0.05 if not params.deterministic else rounds_left <= 0) or (
            params.should_stop is not None and params.should_stop()
        ):
            return True
        pool = max(tight, key=at_stake)
        repacker = repackers[pool.index]
        if params.deterministic:
            rounds = int(SERVE_FIRST_SLICE / REPACK_SECONDS)
            gained = repacker.run(None, rounds)
            rounds_left -= rounds
        else:
            gained = repacker.run(time.monotonic() + min(SERVE_FIRST_SLICE, left), 1 << 62)
        misses[pool.index] = 0 if gained > 0 else misses[pool.index] + 1
        turns[pool.index] += 1
        if repacker.settled or serves_all(problem, state, pool):
            tight.remove(pool)
    return True


def few_accounts_a_csm(problem: Problem, pool: Pool) -> bool:
    """Fewer free accounts a CSM than the knapsack step takes (solver/serve_knapsack.py), and a model small
    enough for the "can everyone be served?" question: a perfect packing is then a few large accounts a
    book, which the question settles fast and the re-cuts of 3 books at a time may never reach."""
    free = [problem.units[i] for i in pool.units if problem.units[i].fixed is None]
    # At most a variable per free account and CSM it may go to, however ARR splits the classes: the
    # question is never asked of a model past its size, so none is built.
    pairs = sum(len(u.eligible) for u in free)
    return len(free) < MIN_UNITS_PER_CSM * max(1, len(pool.csms)) and pairs <= EVERYONE_QUESTION_VARIABLES


def serve_everyone_by_model(
    problem: Problem, state: State, pool: Pool, params: Params, seconds: float
) -> bool:
    """Ask CP-SAT, on the pool's whole model with its capacity rows in whole steps of the common hours
    (solver/step_rows.py), for a plan serving every account; take it if found. Returns whether the pool now
    serves everyone. A near-full pool of few large accounts is a perfect packing, which neither the exchange
    search nor the re-cuts of 3 books reach: the tight 20k book's strategic / APAC."""
    plan = {i: state.assign[i] for i in pool.units}
    pm = PoolModel(
        problem,
        state,
        pool.csms,
        pool.units,
        min_cost=False,
        max_moves=None,
        time_limit=seconds,
        params=params,
        whole_pool=True,
        everyone_only=True,
    )
    no_plan_serves_everyone(pm, 1.0)
    if pm.hint_sum(lambda k, c: pm.classes[k].size) < pm.max_served:
        # No such plan found: the plan goes back as it was (the run may have swapped twins' books).
        pm.hint = {u.index: plan[u.index] for u in pm.units}
    pm.write_back()
    return serves_all(problem, state, pool)


def improve_pool(
    problem: Problem,
    state: State,
    pool: Pool,
    params: Params,
    *,
    band: float | None,
    budget: float,
    min_cost: bool,
) -> tuple[SubResult, str]:
    if not pool.csms or not pool.units:
        return SubResult(), "nothing to plan"
    if not min_cost:
        start = time.monotonic()
        steps = 20_000 if params.deterministic else 1_000_000
        # Large pools are where CP-SAT cannot prove much; there the local search earns more of the time. A
        # pool that cannot serve every account spends its time on the serve phase first: which accounts are
        # served is not settled yet, so levelling the hours of the constructed plan would be time lost.
        share = 0.3 if len(pool.csms) <= 40 else 0.6
        if problem.bands:
            share = 0.1  # the bands of balance_metrics come before the level: their phase needs the time
        if not serves_all(problem, state, pool):
            serve_more_by_exchanges(
                problem,
                state,
                pool,
                None if params.deterministic else start + 0.15 * budget,
                max_work=SERVE_SEARCH_WORK if params.deterministic else None,
                moves_left=pool_moves_left(problem, state, pool),
            )
            serve_more_by_recuts(problem, state, pool, params, 0.1 * budget)
            share = 0.05
        level_by_local_search(
            problem,
            state,
            pool,
            deadline=float("inf") if params.deterministic else start + budget * share,
            max_steps=steps,
        )
        split_pairs_exactly(
            problem,
            state,
            pool,
            deadline=None if params.deterministic else start + budget * share,
            # Deterministic mode has no deadline here: about a fifth of the share's seconds in table work.
            max_work=int(budget * share * 10_000_000) if params.deterministic else 1 << 62,
            seed=params.seed + pool.index,
            floor=pool_plan_bound(problem, state, pool) or 0.0,
        )
        if not params.deterministic:
            budget = max(0.05, budget - (time.monotonic() - start))
    if min_cost:
        from solver.mincost import plan_min_cost_pool  # MathOpt on first need: 0.2 s of every CLI start

        return plan_min_cost_pool(problem, state, pool, params, budget)
    if estimate_variables(problem, pool) <= FULL_MODEL_VARIABLES:
        return optimize_whole_pool(problem, state, pool, params, band, budget, level_share=0.6)
    mean_band = (pool_mean(problem, state, pool), band) if band is not None else None
    return large_neighbourhood_search(problem, state, pool, params, mean_band, budget, min_cost), "cp-sat LNS"


def optimize_whole_pool(
    problem: Problem,
    state: State,
    pool: Pool,
    params: Params,
    band: float | None,
    budget: float,
    *,
    level_share: float,
) -> tuple[SubResult, str]:
    """One CP-SAT model of the whole pool (balance), from the plan `state` has; with balance_metrics and the
    model unproven, the local search then lowers the level further, keeping every CSM inside the bands it
    is inside."""
    started = time.monotonic()
    keep_bands = bool(problem.bands) and band is not None
    res = optimize(
        problem,
        state,
        pool.csms,
        pool.units,
        min_cost=False,
        band=(pool_mean(problem, state, pool), band) if band is not None else None,
        max_moves=moves_budget(problem, state, pool),
        time_limit=budget * (0.8 if keep_bands else 1.0),
        params=params,
        level_floor=pool_plan_bound(problem, state, pool),
        level_share=level_share,
        whole_pool=True,
    )
    method = "cp-sat (whole pool, " + "+".join(res.phases or ["hint"]) + ")"
    if keep_bands and band is not None and not res.proven:
        keeper = BandKeeper(problem, state, pool, band)
        steps = level_by_local_search(
            problem,
            state,
            pool,
            deadline=float("inf") if params.deterministic else started + budget,
            max_steps=2_000 if params.deterministic else 1_000_000,
            keeps=keeper.keeps,
        )
        if steps:
            res.proven = False  # the level moved past what the model proved
            method += ", level by local search within the bands"
    return res, method
