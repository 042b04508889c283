"""The serve phase of a pool model (CONTRACT priority 1): serve every account it can; where not every
account fits, cover the most ARR, then the most accounts, and prove a bound on the ARR any plan serves.

Where the hours and book sizes leave room for everyone, CP-SAT is first asked whether everyone can be
served; tight pools then get a plain MIP (solver/serve_mip.py) for a start and a bound before CP-SAT
maximises the ARR and the count. Once everyone is served, that is stated to the model class by class.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from solver.bounds import pool_served_arr_bound
from solver.state import UNASSIGNED
from solver.step_rows import add_step_rows, common_steps

if TYPE_CHECKING:
    from solver.model import PoolModel
    from solver.problem import Pool, Problem

# The "can everyone be served?" question is asked of models up to this many count variables.
EVERYONE_QUESTION_VARIABLES = 20_000


def serve(pm: PoolModel) -> None:
    """Serve every account it can; where not every account fits, cover the most ARR, then the most accounts."""
    arr_of = lambda k, c: pm.classes[k].arr  # noqa: E731
    size_of = lambda k, c: pm.classes[k].size  # noqa: E731
    not_everyone = pm.hint_sum(size_of) < pm.max_served and no_plan_serves_everyone(pm, 0.25)
    if pm.hint_sum(size_of) < pm.max_served:
        mip_bound: int | None = None
        bound: float | None = None
        if serves_the_pool_bound(pm):
            ok_arr = True  # nothing to maximise: the plan serves what the pool's bound allows
        else:
            # Tight pools are LP-strong: a plain MIP (HiGHS) first gives CP-SAT a better start and a bound.
            from solver.serve_mip import serve_by_mip  # MathOpt on first need: 0.2 s of every CLI start

            mip_bound = serve_by_mip(pm, 0.6 * max(0.05, pm.time_left()))
            ok_arr, bound = pm.run(pm.served_arr, 0.2, maximize=True)
        found = pm.hint_sum(arr_of)
        pm.hold_at_least(pm.served_arr, found)
        # An integer objective is at most the floor of CP-SAT's bound.
        bounds = [
            b for b in (mip_bound, None if bound is None else math.floor(bound + 1e-9)) if b is not None
        ]
        if not_everyone:
            # Some account goes unserved: at best the one of least ARR.
            least = min(u.arr for cl in pm.classes for u in cl.units)
            bounds.append(everyone_arr(pm) - math.floor(least))
        pm.result.served_arr_bound = found if ok_arr else min(bounds, default=None)
        if (pm.arr_in_caps or pm.hours_rounded) and not pm.result.exact:
            # ARR caps priced conservatively, or hours rounded up: the model's plans are only some of the
            # book's, and the pool's own relaxation (bounds.pool_served_arr_bound) is the bound.
            pm.result.served_arr_bound = None
        ok_count, _ = pm.run(pm.served, 0.2, maximize=True)
        pm.hold_at_least(pm.served, pm.hint_sum(size_of))
        pm.result.phases.append("serve")
        pm.result.serve_proven = ok_arr and ok_count and pm.result.exact
        pm.result.proven &= pm.result.serve_proven
        pm.held_at_best &= pm.result.serve_proven
    else:
        pm.hold_at_least(pm.served, pm.max_served)
        # Everyone served: the bound is what they hold (a class's `arr` is its largest, not each one's).
        pm.result.served_arr_bound = everyone_arr(pm)
    if pm.result.served_arr_bound is not None:
        pm.result.served_arr_bound += pm.frozen_arr
    if pm.hint_sum(size_of) == pm.max_served:
        hold_everyone_served(pm)


def serves_the_pool_bound(pm: PoolModel) -> bool:
    """The model is its pool's whole and its plan already serves the pool's solver-free bound on servable
    ARR (bounds.pool_served_arr_bound): the most ARR is proven before any search."""
    if not pm.whole_pool or not pm.units:
        return False
    problem, state = pm.problem, pm.state
    pool = problem.pools[pm.units[0].pool]
    # The model's own units are out of the state while it runs: their plan is the hint.
    free = sum(u.arr for u in pm.units if pm.hint[u.index] != UNASSIGNED)
    fixed = sum(
        problem.units[i].arr
        for i in pool.units
        if problem.units[i].fixed is not None and state.assign[i] != UNASSIGNED
    )
    return free + fixed >= pool_served_arr_bound(problem, pool) - 1e-6


def everyone_arr(pm: PoolModel) -> int:
    """The ARR of every account in the model, each rounded up (a class's `arr` is its largest)."""
    return sum(u.whole_arr for cl in pm.classes for u in cl.units)


def pool_everyone_arr(problem: Problem, pool: Pool) -> float:
    """The ARR of every account of the pool some CSM may serve."""
    return sum(problem.units[i].arr for i in pool.units if problem.units[i].eligible)


def no_plan_serves_everyone(pm: PoolModel, share: float) -> bool:
    """Where the hours and book sizes leave room for every account, first ask whether every one can be
    served: a feasibility question that CP-SAT settles fast (a perfect packing of a pool at 99.8 % of
    its hours) where maximising ARR stalls a few accounts short. Puts such a plan in the hint; returns
    True when CP-SAT proves there is none."""
    if len(pm.y) > EVERYONE_QUESTION_VARIABLES:
        return False  # a copy of a large pool's model costs memory, and CP-SAT rarely settles it in time
    problem, state = pm.problem, pm.state
    room = sum(max(0, problem.csms[c].capacity - state.load[c]) for c in pm.csms)
    if sum(min(cl.hours.values()) * len(cl.units) for cl in pm.classes) > room:
        return False
    if pm.whole_pool and pm.units:
        pool = problem.pools[pm.units[0].pool]
        if pool_served_arr_bound(problem, pool) < pool_everyone_arr(problem, pool) - 0.5:
            return False  # the pool's relaxations already rule it out
    infos = [problem.csms[c] for c in pm.csms]
    if all(i.max_accounts is not None for i in infos):
        seats = sum(max(0, (i.max_accounts or 0) - state.count[i.index]) for i in infos)
        if pm.max_served > seats:
            return False
    # On a copy of the model (an assumption literal would cost CP-SAT most of its presolve: 6x slower).
    model = pm.model
    pm.model = model.clone()
    try:
        for k, cl in enumerate(pm.classes):
            pm.model.add(sum(pm.y[k, c] for c in cl.csms) == len(cl.units))
        # Ordering the twins' loads stalls CP-SAT on a perfect packing (no answer in 10 s, against 0.5 s).
        pm.fix(pm.symmetry_on, [0, 0])
        write_step_rows(pm)
        infeasible, _ = pm.run(None, share)
    finally:
        pm.model = model
    return infeasible and not ((pm.arr_in_caps or pm.hours_rounded) and not pm.result.exact)


def write_step_rows(pm: PoolModel) -> None:
    """Every CSM's capacity row again in whole steps of the pool's common hours (solver/step_rows.py): on a
    pool that must serve everyone, they bound the steps its odd-sized accounts may spend."""
    for c in pm.cap_csms:
        terms = pm.by_csm[c]
        hours = [cl.hours[c] for _, cl in terms]
        steps = common_steps((cl.hours[c], len(cl.units)) for _, cl in terms)
        room = pm.problem.csms[c].capacity - pm.state.load[c]
        add_step_rows(pm.model, [pm.y[k, c] for k, _ in terms], hours, room, steps)


def hold_everyone_served(pm: PoolModel) -> None:
    """Everyone is served: say so class by class, and (hours not depending on the CSM) that the total
    load is a constant. Implied, but stated they let CP-SAT prove in milliseconds what it otherwise
    cannot, e.g. that no perfect split of a pool's accounts exists."""
    for k, cl in enumerate(pm.classes):
        pm.model.add(sum(pm.y[k, c] for c in cl.csms) == len(cl.units))
    if all(len(set(cl.hours.values())) <= 1 for cl in pm.classes):
        pm.fixed_total = sum(pm.state.load[c] for c in pm.csms) + sum(
            next(iter(cl.hours.values())) * len(cl.units) for cl in pm.classes if cl.hours
        )
        pm.model.add(sum(pm.load[c] for c in pm.csms) == pm.fixed_total)
