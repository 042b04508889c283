"""Lower bounds on a pool's largest utilization, proven without a solver: volume, single units, integrality."""

from __future__ import annotations

import math

from solver.construct import UNASSIGNED, State
from solver.prepare import Pool, Problem, Unit


def pool_level_bound(problem: Problem, state: State, pool: Pool) -> float | None:
    """A lower bound on the pool's largest utilization, for plans serving the units the plan serves.

    The best of: all hours over all capacity; each unit on its best CSM on top of that CSM's frozen load;
    and the same total rounded to what CSMs can hold when every load is a multiple of the hours' GCD.
    """
    csms = [c for c in pool.csms if problem.csms[c].capacity > 0]
    if not csms:
        return None
    caps = {c: problem.csms[c].capacity for c in csms}
    frozen = dict.fromkeys(csms, 0)
    total = 0
    g = 0
    options_of: dict[int, list[int]] = {}  # per eligibility list: its CSMs with capacity
    largest: dict[int, Unit] = {}  # per eligibility list: its largest free unit without pair overrides
    overridden: list[Unit] = []
    for i in pool.units:
        u = problem.units[i]
        if state.assign[i] == UNASSIGNED:
            continue
        if u.fixed is not None:
            h = u.hours_for(u.fixed)
            if u.fixed in frozen:
                frozen[u.fixed] += h
            total += h
            g = math.gcd(g, h)
            continue
        options = options_of.get(id(u.eligible))
        if options is None:
            options = options_of[id(u.eligible)] = [c for c in u.eligible if c in caps]
        if not options:
            continue
        if u.hours_by_csm:
            total += min(u.hours_for(c) for c in options)
            for c in options:
                g = math.gcd(g, u.hours_for(c))
            overridden.append(u)
        else:
            total += u.hours
            g = math.gcd(g, u.hours)
            if id(u.eligible) not in largest or u.hours > largest[id(u.eligible)].hours:
                largest[id(u.eligible)] = u
    # Each unit must land somewhere: on its best CSM, on top of that CSM's frozen load. Without pair
    # overrides the largest unit of each eligibility list decides it.
    best_single = 0.0
    for u in [*largest.values(), *overridden]:
        options = options_of[id(u.eligible)]
        best_single = max(best_single, min((frozen[c] + u.hours_for(c)) / caps[c] for c in options))
    cap_total = sum(caps.values())
    bound = max(total / cap_total, best_single, max(frozen[c] / caps[c] for c in csms))
    if g > 0:
        # Each CSM's load is a multiple of g: find the least u with sum_c g*floor(u*cap_c/g) >= total.
        lo, hi = bound, 1.0
        if sum(g * math.floor(hi * caps[c] / g + 1e-9) for c in csms) >= total:
            for _ in range(50):
                mid = (lo + hi) / 2
                if sum(g * math.floor(mid * caps[c] / g + 1e-9) for c in csms) >= total:
                    hi = mid
                else:
                    lo = mid
            # The least achievable value is some (multiple of g) / cap_c: snap up to it exactly.
            candidates = [g * math.ceil(lo * caps[c] / g - 1e-9) / caps[c] for c in csms]
            snapped = min((x for x in candidates if x >= lo - 1e-12), default=hi)
            bound = max(bound, min(snapped, hi))
    return bound


def serves_all(problem: Problem, state: State, pool: Pool) -> bool:
    return all(state.assign[i] != UNASSIGNED for i in pool.units if problem.units[i].eligible)


def pool_plan_bound(problem: Problem, state: State, pool: Pool, *, serve_proven: bool = True) -> float | None:
    """A lower bound on the largest utilization of the best plan by CONTRACT's priorities.

    When the plan serves every account it may, that is `pool_level_bound`. When it cannot, the best plan
    may serve a different set of as many accounts (with fewer hours), so only a volume bound holds: the
    fewest hours that serve as many accounts (the frozen ones, then the lightest per account, fractional)
    over all capacity, and the heaviest frozen load.
    """
    if serves_all(problem, state, pool):
        return pool_level_bound(problem, state, pool)
    caps = {c: problem.csms[c].capacity for c in pool.csms if problem.csms[c].capacity > 0}
    if not caps:
        return None
    frozen = dict.fromkeys(caps, 0)
    hours = 0.0
    # The best plan serves as many accounts as this one only when the serve phase proved the count; else
    # only the frozen accounts are sure to be served.
    need = (
        sum(problem.units[i].size for i in pool.units if state.assign[i] != UNASSIGNED) if serve_proven else 0
    )
    free: list[tuple[float, int]] = []
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None:
            if u.fixed in frozen:
                frozen[u.fixed] += u.hours_for(u.fixed)
            hours += u.hours_for(u.fixed)
            need -= u.size
            continue
        options = [c for c in u.eligible if c in caps]
        if options:
            free.append((min(u.hours_for(c) for c in options) / u.size, u.size))
    for per_account, size in sorted(free):
        if need <= 0:
            break
        take = min(size, need)
        hours += per_account * take
        need -= take
    return max(hours / sum(caps.values()), max(frozen[c] / caps[c] for c in caps))
