"""The proven minimum of CSMs: a three-dimensional bin packing (hours, ARR, accounts) of item types into
the existing CSMs' free room and new CSMs of a pool's profile, by lower bounds, first-fit heuristics and,
only when those disagree, CP-SAT."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

# "No cap" inside the packing: larger than any scaled book total.
UNCAPPED = 10**15
# CP-SAT is only asked when the bounds and the heuristics disagree; each such packing gets at most this.
MAX_SECONDS_PER_PACKING = 2.0
Vec = tuple[int, int, int]  # scaled hours, whole ARR, accounts


@dataclass(frozen=True)
class Packing:
    """The fewest new bins of the profile that, with the existing bins' free room, hold every item."""

    new_bins: int
    lower_bound: int
    proven: bool
    method: str


def _fit_count(item: Vec, room: Vec) -> int:
    """How many copies of the item fit the room (hot: called for every item type and bin)."""
    hours, arr, count = item
    n = UNCAPPED
    if hours > 0:
        n = room[0] // hours
    if arr > 0:
        n = min(n, room[1] // arr)
    if count > 0:
        n = min(n, room[2] // count)
    return n if n > 0 else 0


def _fits(item: Vec, room: Vec) -> bool:
    return item[0] <= room[0] and item[1] <= room[1] and item[2] <= room[2]


def _l2(sizes: list[tuple[int, int]], capacity: int) -> int:
    """Martello–Toth L2 lower bound on the bins of `capacity` that `sizes` (size, copies) need."""
    sizes = [(w, n) for w, n in sizes if w > 0 and n > 0]
    if not sizes or capacity >= UNCAPPED or capacity <= 0:
        return 0
    best = math.ceil(sum(w * n for w, n in sizes) / capacity)
    alphas = {0} | {w for w, _ in sizes if 2 * w <= capacity}
    for alpha in alphas:
        j1 = sum(n for w, n in sizes if w > capacity - alpha)
        j2n = sum(n for w, n in sizes if capacity - alpha >= w and 2 * w > capacity)
        j2w = sum(w * n for w, n in sizes if capacity - alpha >= w and 2 * w > capacity)
        j3w = sum(w * n for w, n in sizes if 2 * w <= capacity and w >= alpha)
        spare = j2n * capacity - j2w
        best = max(best, j1 + j2n + max(0, math.ceil((j3w - spare) / capacity)))
    return best


def _lower_bound(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> int:
    """The fewest new bins any packing needs: volume per dimension and Martello–Toth L2."""
    # Items no existing bin can take go to new bins, which they pack at best as L2 says.
    must_new = [(v, n) for v, n in items.items() if not any(_fits(v, e) for e in existing)]
    bound = 0
    for d in range(3):
        cap = profile[d]
        if cap >= UNCAPPED or cap <= 0:
            continue
        total = sum(v[d] * n for v, n in items.items())
        room = sum(min(e[d], UNCAPPED) for e in existing)
        bound = max(bound, math.ceil(max(0, total - room) / cap))
        bound = max(bound, _l2([(v[d], n) for v, n in must_new], cap))
        if all(e[d] <= cap for e in existing):
            bound = max(bound, _l2([(v[d], n) for v, n in items.items()], cap) - len(existing))
    return bound


def _first_fit(order: list[tuple[Vec, int]], existing: list[Vec], profile: Vec) -> int:
    """First-fit (in the given order) into the existing bins, opening profile bins as needed."""
    rooms = [list(e) for e in existing]
    opened = 0
    for item, count in order:
        left = count
        for room in rooms:
            take = min(left, _fit_count(item, (room[0], room[1], room[2])))
            if take:
                for d in range(3):
                    room[d] -= take * item[d]
                left -= take
                if left == 0:
                    break
        per_bin = _fit_count(item, profile)
        while left > 0:
            take = min(left, per_bin)
            rooms.append([profile[d] - take * item[d] for d in range(3)])
            opened += 1
            left -= take
    return opened


def _fullest_subset(chunks: list[tuple[int, int, Vec]], room: int) -> list[int]:
    """Indices of chunks whose hours sum to the most that fits `room` (a subset-sum on an int bitset)."""
    full = (1 << (room + 1)) - 1
    reach = 1
    before: list[int] = []
    for size, _, _ in chunks:
        before.append(reach)
        reach = (reach | (reach << size)) & full
    target = reach.bit_length() - 1
    chosen = []
    for i in range(len(chunks) - 1, -1, -1):
        if (before[i] >> target) & 1:
            continue
        chosen.append(i)
        target -= chunks[i][0]
    return chosen


def _fill_bins(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> int | None:
    """Bins filled one at a time as full as their hours allow (largest item first, then a subset sum).

    First-fit-decreasing leaves a few percent of every CSM idle when accounts are many and small; filling
    each bin exactly usually reaches the hours bound and so proves the minimum without CP-SAT. Only for
    pools where hours are what binds (no ARR cap in play); None when it does not apply.
    """
    if profile[1] < UNCAPPED or any(e[1] < UNCAPPED for e in existing) or any(v[0] <= 0 for v in items):
        return None
    unit = math.gcd(profile[0], *(v[0] for v in items), *(e[0] for e in existing if e[0] > 0))
    if profile[0] // unit > 200_000:
        return None
    left = dict(items)
    opened = 0

    def fill(room: Vec, seed_largest: bool) -> None:
        hours, count = room[0] // unit, room[2]
        if seed_largest:
            largest = max((v for v, n in left.items() if n), key=lambda v: (v[0], v[2]))
            left[largest] -= 1
            hours -= largest[0] // unit
            count -= largest[2]
        chunks: list[tuple[int, int, Vec]] = []
        for v, n in left.items():
            if n == 0 or v[0] // unit > hours or v[2] > count:
                continue
            k = 1
            while n > 0:  # binary split of n copies: any count 0..n is a sum of the chunks
                take = min(k, n)
                chunks.append((take * v[0] // unit, take, v))
                n -= take
                k *= 2
        taken: dict[Vec, int] = defaultdict(int)
        for i in _fullest_subset(chunks, hours):
            taken[chunks[i][2]] += chunks[i][1]
        # The subset sum ignores the book-size cap: give back the smallest accounts until it holds.
        excess = sum(v[2] * k for v, k in taken.items()) - count
        for v in sorted(taken, key=lambda v: v[0] / max(1, v[2])):
            if excess <= 0:
                break
            back = min(taken[v], math.ceil(excess / max(1, v[2])))
            taken[v] -= back
            excess -= back * v[2]
        for v, k in taken.items():
            left[v] -= k

    for room in sorted(existing, reverse=True):
        fill(room, seed_largest=False)
    while any(left.values()):
        opened += 1
        fill(profile, seed_largest=True)
    return opened


def _orders(items: dict[Vec, int], profile: Vec) -> list[list[tuple[Vec, int]]]:
    """Item types largest first, by three measures of "large" (multi-dimensional FFD has no single one)."""

    def shares(kv: tuple[Vec, int]) -> list[float]:
        return [kv[0][d] / profile[d] if 0 < profile[d] < UNCAPPED else 0.0 for d in range(3)]

    def largest_share(kv: tuple[Vec, int]) -> tuple[float, Vec]:
        return max(shares(kv)), kv[0]

    def total_share(kv: tuple[Vec, int]) -> tuple[float, Vec]:
        return sum(shares(kv)), kv[0]

    def hours(kv: tuple[Vec, int]) -> Vec:
        return kv[0]

    return [sorted(items.items(), key=key, reverse=True) for key in (largest_share, total_share, hours)]


def _cp_sat_packing(
    items: dict[Vec, int],
    existing: list[Vec],
    profile: Vec,
    lower: int,
    upper: int,
    seconds: float,
    seed: int,
) -> tuple[int, int, bool]:
    """CP-SAT min-bins over item *types* (identical items aggregated into integer counts)."""
    model = cp_model.CpModel()
    bins = [*existing, *([profile] * upper)]
    types = list(items.items())
    used = [model.new_bool_var(f"used_{b}") for b in range(upper)]
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for t, (item, count) in enumerate(types):
        for b, room in enumerate(bins):
            cap = min(count, _fit_count(item, room))
            if cap > 0:
                x[t, b] = model.new_int_var(0, cap, f"x_{t}_{b}")
    # Every account is served, in one bin (its parent group together: a group is one item).
    for t, (_, count) in enumerate(types):
        model.add(sum(x[t, b] for b in range(len(bins)) if (t, b) in x) == count)
    # No bin goes past its hours, ARR or book-size room; a new bin has room only once it is opened.
    for b, room in enumerate(bins):
        for d in range(3):
            if room[d] >= UNCAPPED:
                continue
            load = sum(types[t][0][d] * x[t, b] for t in range(len(types)) if (t, b) in x and types[t][0][d])
            if isinstance(load, int):
                continue
            if b < len(existing):
                model.add(load <= room[d])
            else:
                model.add(load <= room[d] * used[b - len(existing)])
        if b >= len(existing):
            for t in range(len(types)):
                if (t, b) in x:
                    model.add(x[t, b] == 0).only_enforce_if(used[b - len(existing)].Not())
    # New bins are opened in order, which removes their interchangeable permutations.
    for b in range(upper - 1):
        model.add_implication(used[b + 1], used[b])
    model.add(sum(used) >= lower)
    model.minimize(sum(used))
    solver = cp_model.CpSolver()
    # One worker and a deterministic time limit: the same book gives the same report on a busy machine;
    # the wall-clock limit is only a safety net.
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = max(0.05, seconds)
    solver.parameters.max_time_in_seconds = max(0.2, 4 * seconds)
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status == cp_model.OPTIMAL:
        value = round(solver.objective_value)
        return value, value, True
    bound = max(lower, math.ceil(solver.best_objective_bound - 1e-6))
    if status == cp_model.FEASIBLE:
        value = round(solver.objective_value)
        return value, bound, value <= bound
    if status == cp_model.INFEASIBLE:
        # Not even `upper` bins: cannot happen with a valid first-fit upper bound; keep it honest anyway.
        return upper, upper, False
    return upper, bound, False


def _relevant(items: dict[Vec, int], existing: list[Vec], profile: Vec) -> tuple[bool, bool]:
    """Whether the ARR cap and the book-size cap can bind at all in this pool.

    A cap that no bin can reach (its largest possible load stays under the smallest room) is dropped,
    so identical-hour items merge into one type and large pools stay small models.
    """
    rooms = [*existing, profile]
    most_hours = max(r[0] for r in rooms)
    # k: the most items any bin can hold by hours (the smallest items first).
    k = 0
    used = 0
    for v, n in sorted(items.items()):
        fit = n if v[0] == 0 else min(n, (most_hours - used) // v[0])
        k += fit
        used += fit * v[0]
        if fit < n:
            break

    def top(d: int) -> int:
        total, left = 0, k
        for v, n in sorted(items.items(), key=lambda kv: kv[0][d], reverse=True):
            take = min(n, left)
            total += take * v[d]
            left -= take
            if left == 0:
                break
        return total

    arr_binds = top(1) > min(r[1] for r in rooms)
    count_binds = top(2) > min(r[2] for r in rooms)
    return arr_binds, count_binds


class _Packer:
    """Solves packings under one time budget and remembers them (quarters often repeat a pool's packing)."""

    def __init__(self, budget_seconds: float, seed: int) -> None:
        self.deadline = time.monotonic() + budget_seconds
        self.seed = seed
        self.cache: dict[tuple[Any, ...], Packing] = {}
        self.packings = 0
        self.cp_sat = 0
        self.unproven = 0

    def pack(self, items: dict[Vec, int], existing: list[Vec], profile: Vec) -> Packing:
        items = {v: n for v, n in items.items() if n > 0}
        # Callers give each group larger than a CSM a CSM of its own; counted here too, so no loop can stall.
        too_big = sum(n for v, n in items.items() if not _fits(v, profile))
        if too_big:
            rest = self.pack({v: n for v, n in items.items() if _fits(v, profile)}, existing, profile)
            return Packing(rest.new_bins + too_big, rest.lower_bound + too_big, rest.proven, rest.method)
        if not items:
            return Packing(0, 0, True, "empty")
        arr_binds, count_binds = _relevant(items, existing, profile)
        if not arr_binds or not count_binds:
            merged: dict[Vec, int] = defaultdict(int)
            for v, n in items.items():
                merged[(v[0], v[1] if arr_binds else 0, v[2] if count_binds else 0)] += n
            items = dict(merged)

            def drop(r: Vec) -> Vec:
                return (r[0], r[1] if arr_binds else UNCAPPED, r[2] if count_binds else UNCAPPED)

            existing = [drop(e) for e in existing]
            profile = drop(profile)
        key = (tuple(sorted(items.items())), tuple(sorted(existing)), profile)
        if key in self.cache:
            return self.cache[key]
        self.packings += 1
        lower = _lower_bound(items, existing, profile)
        upper = min(_first_fit(order, existing, profile) for order in _orders(items, profile))
        if upper > lower:
            filled = _fill_bins(items, existing, profile)
            upper = min(upper, filled) if filled is not None else upper
        if upper <= lower:
            result = Packing(upper, upper, True, "bounds")
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0.05:
                result = Packing(upper, lower, False, "first-fit-decreasing (time budget spent)")
            else:
                self.cp_sat += 1
                value, bound, proven = _cp_sat_packing(
                    items, existing, profile, lower, upper, min(remaining, MAX_SECONDS_PER_PACKING), self.seed
                )
                result = Packing(value, bound, proven, "cp-sat")
        self.unproven += not result.proven
        self.cache[key] = result
        return result


def _served_by_team(items: dict[Vec, int], existing: list[Vec]) -> int:
    """Accounts the team can carry, smallest first: a greedy count (the engine's plan is exact)."""
    rooms = [list(e) for e in existing]
    served = 0
    for item, count in sorted(items.items()):
        left = count
        for room in rooms:
            take = min(left, _fit_count(item, (room[0], room[1], room[2])))
            if take:
                for d in range(3):
                    room[d] -= take * item[d]
                left -= take
                served += take * item[2]
                if left == 0:
                    break
    return served
