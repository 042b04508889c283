"""Lower bounds on a pool's largest utilization, proven without a solver: volume, single units, integrality."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State


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
    may serve a different set of accounts, so only a volume bound holds, over all capacity (and the heaviest
    frozen load): the best plan serves at least the ARR this one does (the most ARR comes first), which
    takes at least the hours of the free accounts with the most ARR per hour, fractional, on top of the
    frozen ones; and, when the serve phase proved the count, as many accounts, at least the hours of the
    lightest per account.
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
    need_arr = sum(problem.units[i].arr for i in pool.units if state.assign[i] != UNASSIGNED)
    free: list[tuple[float, int]] = []
    by_arr: list[tuple[float, float]] = []  # (ARR, fewest hours) of each free unit
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None:
            if u.fixed in frozen:
                frozen[u.fixed] += u.hours_for(u.fixed)
            hours += u.hours_for(u.fixed)
            need -= u.size
            need_arr -= u.arr
            continue
        least = u.least_hours(caps)
        if least is not None:
            free.append((least / u.size, u.size))
            by_arr.append((u.arr, least))
    for_count = hours
    for per_account, size in sorted(free):
        if need <= 0:
            break
        take = min(size, need)
        for_count += per_account * take
        need -= take
    # Float sums of ARR: a hair of slack, so the bound never rests on rounding.
    for_arr = hours + _least_hours_for(by_arr, need_arr - 1e-6 * (1.0 + abs(need_arr)))
    return max(max(for_count, for_arr) / sum(caps.values()), max(frozen[c] / caps[c] for c in caps))


def _least_hours_for(units: list[tuple[float, float]], arr: float) -> float:
    """The fewest hours of (ARR, hours) units, taken in part, that cover `arr` (the LP optimum)."""
    hours = 0.0
    for value, weight in sorted(units, key=lambda it: -it[0] / it[1] if it[1] > 0 else -math.inf):
        if arr <= 0:
            break
        if value <= 0:
            continue
        take = min(1.0, arr / value)
        hours += weight * take
        arr -= value * take
    return hours


def _fractional_knapsack(items: Sequence[tuple[float, float]], room: float) -> float:
    """The most value of (value, weight) items in `room`, the last one taken in part (the LP optimum)."""
    total = 0.0
    for value, weight in sorted(items, key=lambda it: -it[0] / it[1] if it[1] > 0 else -math.inf):
        if weight <= 0:
            total += value
            continue
        if room <= 0:
            break
        take = min(1.0, room / weight)
        total += value * take
        room -= weight * take
    return total


# The whole-accounts knapsack's table: at most this many cells (free units x steps of hours), ~0.1 s.
KNAPSACK_CELLS = 20_000_000
KNAPSACK_STEPS = 1_000_000  # and at most this many steps of hours (8 MB of table)


def _whole_knapsack(items: Sequence[tuple[float, int]], room: int) -> float | None:
    """The most value of (value, weight) items in `room`, each whole or not at all (the 0/1 knapsack, by
    dynamic programming over the room). Where the table would pass KNAPSACK_CELLS (or its row
    KNAPSACK_STEPS), weights and room are counted in coarser steps, each rounded down: every packing that
    fits still fits, so the answer stays an upper bound. None where the steps would be too coarse to say
    more than the LP (the lightest item under ten steps). Weights and room are first divided by the weights'
    greatest common divisor, which loses nothing: hours given to the tenth are steps of 10 hundredths, and
    the tight 20k book's strategic / NA is then counted exactly ($108.412M, where coarse steps said
    $108.663M and the LP $108.603M)."""
    weighted = [(v, w) for v, w in items if w > 0]
    free_value = sum(v for v, w in items if w <= 0)
    if not weighted or room <= 0:
        return free_value if room >= 0 else None
    unit = math.gcd(*(w for _, w in weighted))
    if unit > 1:  # every packing's weight is a multiple of `unit`: at most the room's whole multiples
        weighted = [(v, w // unit) for v, w in weighted]
        room //= unit
    room = min(room, sum(w for _, w in weighted))  # no packing weighs more than every item together
    step = max(1, math.ceil(len(weighted) * room / KNAPSACK_CELLS), math.ceil(room / KNAPSACK_STEPS))
    if step > 1 and min(w for _, w in weighted) < 10 * step:
        return None  # steps too coarse to say more than the LP (in steps of 1 it is exact)
    cells = room // step
    best = np.zeros(cells + 1)  # best[h]: the most value in h steps of hours
    for value, weight in weighted:
        w = weight // step
        if w <= cells:
            best[w:] = np.maximum(best[w:], best[: cells + 1 - w] + value)
    return free_value + float(best[cells])


def pool_served_arr_bound(problem: Problem, pool: Pool) -> int:
    """An upper bound on the ARR any plan of the pool can serve, proven without a solver (computed once per
    pool: it depends on the book, not on the plan).

    The frozen units' ARR, plus the least of these relaxations for the free units: their hours into the
    capacity the frozen units leave (each unit at its lightest eligible CSM), over the whole pool (each
    account whole, as a 0/1 knapsack, and in part) and summed over groups of units with the same eligible
    CSMs; their accounts into the book-size room; and the ARR room under the caps (when every CSM has one).
    A pool of few large accounts loses most to whole accounts: on the tight 3k book's strategic / EMEA (18
    accounts, 3 CSMs) the knapsack proves the best plan's $8.434M, where the LP says $8.571M.
    """
    if pool.served_arr_bound is None:
        pool.served_arr_bound = _served_arr_bound(problem, pool)
    return pool.served_arr_bound


def _served_arr_bound(problem: Problem, pool: Pool) -> int:
    # A CSM without hours still takes accounts of 0 hours (0 of 0 fits): every active CSM counts.
    csms = [c for c in pool.csms if not problem.csms[c].left]
    in_pool = set(csms)
    frozen_arr = 0.0
    held_hours = dict.fromkeys(csms, 0)
    held_count = dict.fromkeys(csms, 0)
    held_arr = dict.fromkeys(csms, 0.0)
    free: dict[int, tuple[list[int], list[Unit]]] = {}
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None:
            frozen_arr += u.arr
            if u.fixed in held_hours:
                held_hours[u.fixed] += u.hours_for(u.fixed) - u.rounded_up
                held_count[u.fixed] += u.size
                held_arr[u.fixed] += u.arr
            continue
        group = free.get(id(u.eligible))
        if group is None:
            group = free[id(u.eligible)] = ([c for c in u.eligible if c in in_pool], [])
        if group[0]:
            group[1].append(u)
    # Hours finer than a hundredth are rounded up in the model: the relaxation takes each unit's rounding
    # back (a hundredth per rounded figure, at least what it added), so its whole hundredths never exceed
    # the book's hours, and the capacity rounded down to whole hundredths still holds them.
    hours_room = {c: max(0, problem.csms[c].capacity - held_hours[c]) for c in csms}
    groups = [
        (
            [(u.arr, max(0, (u.least_hours(in_pool) or 0) - u.rounded_up)) for u in units],
            sum(hours_room[c] for c in options),
        )
        for options, units in free.values()
    ]
    every_item = [it for items, _ in groups for it in items]
    all_room = sum(hours_room.values())
    relaxations = [
        _fractional_knapsack(every_item, all_room),
        sum(_fractional_knapsack(items, room) for items, room in groups),
    ]
    whole = _whole_knapsack(every_item, all_room)
    if whole is not None:
        relaxations.append(whole)
    infos = [problem.csms[c] for c in csms]
    if infos and all(info.max_accounts is not None for info in infos):
        room = sum(max(0, (info.max_accounts or 0) - held_count[info.index]) for info in infos)
        sizes = [(u.arr, u.size) for _, units in free.values() for u in units]
        relaxations.append(_fractional_knapsack(sizes, room))
    if infos and all(info.arr_cap is not None for info in infos):
        relaxations.append(sum(max(0.0, (info.arr_cap or 0.0) - held_arr[info.index]) for info in infos))
    # Rounded up past float error: a bound is never shown below what it bounds.
    best = frozen_arr + min(relaxations)
    slack = 1e-9 * (1.0 + best)  # float error of the sums, far above it
    if all(float(problem.units[i].arr).is_integer() for i in pool.units):
        return math.floor(best + slack)  # every plan serves whole dollars: at most the whole part
    return math.ceil(best + slack)
