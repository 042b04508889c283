"""Exact two-CSM splits: lower a pool's utilization level by re-splitting two CSMs' free accounts between
them with a subset-sum table, where one-account moves and swaps stall on near-perfect splits."""

from __future__ import annotations

import math
import time
from random import Random

from solver.level_search import movable_freely
from solver.prepare import shared_set
from solver.problem import Pool, Problem, Unit
from solver.state import State


def split_pairs_exactly(
    problem: Problem,
    state: State,
    pool: Pool,
    *,
    deadline: float | None,
    max_work: int,
    seed: int,
    floor: float = 0.0,
) -> int:
    """Lower the pool's largest utilization by re-splitting two CSMs' free accounts between them exactly.

    The most utilized CSM and each other CSM in turn (least utilized first) pool the units both may serve
    that have no home CSM and are not frozen; a subset-sum table over their hours gives every load the two
    can make, and the split closest to even is rebuilt (a random one among the equals, retried when it
    would break an ARR or book-size cap). One-account moves and swaps stall on near-perfect splits of
    many similar accounts; an exact two-CSM split does not. Like the local search it never moves an
    existing relationship. It stops at `floor` (a proven lower bound), when the level has not fallen for
    a while, at `deadline`, or once its subset-sum tables have cost `max_work` machine words (`deadline`
    None, deterministic mode: those alone; a word costs 15–25 ns on this project's machine).
    Returns the number of splits applied.
    """
    csms = [c for c in pool.csms if problem.csms[c].capacity > 0]
    if len(csms) < 2:
        return 0
    rng = Random(seed)
    cap = {c: problem.csms[c].capacity for c in csms}
    eligible_sets = {i: shared_set(problem.units[i].eligible) for i in pool.units}
    free_on: dict[int, list[Unit]] = {c: [] for c in csms}
    for i in pool.units:
        u = problem.units[i]
        c = state.assign[i]
        if c in free_on and movable_freely(problem, u):
            free_on[c].append(u)
    work = 0
    applied = 0
    walks = 0
    patience = 40 * len(csms)  # walks without a new lowest level before the search gives up
    walks_at_best = 0
    best_level = float("inf")
    while work < max_work and (deadline is None or time.monotonic() < deadline):
        order = sorted(csms, key=lambda c: (-state.load[c] / cap[c], c))
        top = order[0]
        level = state.load[top] / cap[top]
        if level <= floor + 1e-12:
            break  # at the pool's proven lower bound: nothing left to gain
        if level < best_level - 1e-12:
            best_level, walks_at_best = level, walks
        improved = False
        for partner in reversed(order[1:]):
            if work >= max_work or (deadline is not None and time.monotonic() >= deadline):
                break
            movable = _shared_free(free_on, eligible_sets, top, partner)
            if len(movable) < 2:
                continue
            work += _table_words(movable)
            split = _best_split(problem, state, top, partner, movable, level, rng)
            if split is None:
                continue
            _apply_split(state, free_on, top, partner, movable, set(split))
            applied += 1
            improved = True
            break
        if improved:
            continue
        # No partner can take load off the top CSM. Re-split a random pair of CSMs differently (within
        # their present utilizations, so the pool's level cannot rise) and try again: a plateau walk that
        # reaches splits which need three CSMs to change at once.
        if walks - walks_at_best >= patience:
            break
        walks += 1
        a, b = rng.sample(csms, 2)
        movable = _shared_free(free_on, eligible_sets, a, b)
        if len(movable) < 2:
            continue
        work += _table_words(movable)
        pair_level = max(state.load[a] / cap[a], state.load[b] / cap[b])
        split = _best_split(problem, state, a, b, movable, pair_level, rng, wander=True)
        if split is not None:
            _apply_split(state, free_on, a, b, movable, set(split))
    return applied


def _table_words(movable: list[Unit]) -> int:
    """About how many machine words the subset-sum tables of a split of `movable` take to build."""
    g = 0
    for u in movable:
        g = math.gcd(g, u.hours)
    return len(movable) * (sum(u.hours for u in movable) // max(1, g) // 64 + 1)


def _shared_free(
    free_on: dict[int, list[Unit]], eligible_sets: dict[int, frozenset[int]], a: int, b: int
) -> list[Unit]:
    """The free units of CSMs a and b that either of them may serve."""
    return [
        u for c in (a, b) for u in free_on[c] if a in eligible_sets[u.index] and b in eligible_sets[u.index]
    ]


def _apply_split(
    state: State,
    free_on: dict[int, list[Unit]],
    first: int,
    second: int,
    movable: list[Unit],
    to_first: set[int],
) -> None:
    for u in movable:
        target = first if u.index in to_first else second
        if state.assign[u.index] != target:
            free_on[state.assign[u.index]].remove(u)
            state.remove(u)
            state.place(u, target)
            free_on[target].append(u)


def _best_split(
    problem: Problem,
    state: State,
    top: int,
    partner: int,
    movable: list[Unit],
    level: float,
    rng: Random,
    *,
    wander: bool = False,
) -> list[int] | None:
    """The units `top` keeps in the most even split of `movable` between `top` and `partner` that lowers
    both below `level` and keeps every cap; None when there is none. With `wander`, any split that keeps
    both at or below `level`, picked at random."""
    split = _PairSplit(problem, state, top, partner, movable)
    if split.g == 0:
        return None
    candidates = split.loads_near_even()
    if not candidates:
        return None
    if wander:
        # Neither CSM may rise above the pair's larger utilization nor fall below its smaller one, so a
        # walk never pushes anyone out of the balance band.
        least = min(state.load[top] / split.cap_t, state.load[partner] / split.cap_p)
        ordered = [
            s
            for s in candidates
            if split.value(s) <= level + 1e-12 and min(split.utilizations(s)) >= least - 1e-12
        ]
        rng.shuffle(ordered)
    else:
        ordered = [s for s in sorted(candidates, key=split.value) if split.value(s) < level - 1e-12]
    for s in ordered:
        for _ in range(4):
            chosen = split.draw(s, rng)
            if split.keeps_caps(chosen):
                return [u.index for u in chosen]
    return None


class _PairSplit:
    """Two CSMs' movable units in steps of their hours' common divisor `g`, what each CSM keeps outside
    them, and the subset-sum tables of the loads `top` can take."""

    def __init__(self, problem: Problem, state: State, top: int, partner: int, movable: list[Unit]) -> None:
        self.movable = movable
        g = 0
        for u in movable:
            g = math.gcd(g, u.hours)
        self.g = g
        if g == 0:
            return
        self.info_t, self.info_p = problem.csms[top], problem.csms[partner]
        self.cap_t, self.cap_p = self.info_t.capacity, self.info_p.capacity
        self.total = sum(u.hours for u in movable)
        on_top = [u for u in movable if state.assign[u.index] == top]
        on_partner = [u for u in movable if state.assign[u.index] == partner]
        self.base_t = state.load[top] - sum(u.hours for u in on_top)
        self.base_p = state.load[partner] - sum(u.hours for u in on_partner)
        self.arr_t = state.arr[top] - sum(u.arr for u in on_top)
        self.arr_p = state.arr[partner] - sum(u.arr for u in on_partner)
        self.count_t = state.count[top] - sum(u.size for u in on_top)
        self.count_p = state.count[partner] - sum(u.size for u in on_partner)
        self.steps = [u.hours // g for u in movable]
        # tables[i]: bit s set when some choice among the first i units has s x g hours.
        self.tables = [1]
        for step in self.steps:
            self.tables.append(self.tables[-1] | (self.tables[-1] << step))

    def utilizations(self, s: int) -> tuple[float, float]:
        """Both CSMs' utilizations when `top` takes s x g of the movable hours."""
        return (self.base_t + s * self.g) / self.cap_t, (self.base_p + self.total - s * self.g) / self.cap_p

    def value(self, s: int) -> float:
        return max(self.utilizations(s))

    def loads_near_even(self) -> list[int]:
        """The loads `top` can take within both capacities nearest the even split, up to four on either
        side of it (in steps of g)."""
        g = self.g
        lo = max(0, -(-(self.total - (self.cap_p - self.base_p)) // g))
        hi = min(self.total // g, (self.cap_t - self.base_t) // g)
        if lo > hi:
            return []
        reach = self.tables[-1] & ((1 << (hi + 1)) - 1) & ~((1 << lo) - 1)
        if not reach:
            return []
        ideal = (
            (self.cap_t * (self.base_p + self.total) - self.cap_p * self.base_t)
            / (self.cap_t + self.cap_p)
            / g
        )
        pivot = min(max(int(ideal), lo), hi)
        candidates: list[int] = []
        below = reach & ((1 << (pivot + 1)) - 1)
        above = reach >> (pivot + 1)
        for _ in range(4):
            if below:
                s = below.bit_length() - 1
                candidates.append(s)
                below ^= 1 << s
            if above:
                s = (above & -above).bit_length() - 1
                candidates.append(pivot + 1 + s)
                above &= above - 1
        return candidates

    def draw(self, s: int, rng: Random) -> list[Unit]:
        """Units making up s x g hours, walked back through the tables (a coin toss where both ways work)."""
        chosen: list[Unit] = []
        rest = s
        for i in range(len(self.movable), 0, -1):
            step = self.steps[i - 1]
            skip = (self.tables[i - 1] >> rest) & 1
            take = rest >= step and (self.tables[i - 1] >> (rest - step)) & 1
            if take and (not skip or rng.random() < 0.5):
                chosen.append(self.movable[i - 1])
                rest -= step
        return chosen

    def keeps_caps(self, chosen: list[Unit]) -> bool:
        """`top` keeping `chosen` and `partner` the rest keeps both ARR and book-size caps."""
        kept_arr = sum(u.arr for u in chosen)
        kept_count = sum(u.size for u in chosen)
        given_arr = sum(u.arr for u in self.movable) - kept_arr
        given_count = sum(u.size for u in self.movable) - kept_count
        info_t, info_p = self.info_t, self.info_p
        if info_t.arr_cap is not None and self.arr_t + kept_arr > info_t.arr_cap + 1e-6:
            return False
        if info_p.arr_cap is not None and self.arr_p + given_arr > info_p.arr_cap + 1e-6:
            return False
        if info_t.max_accounts is not None and self.count_t + kept_count > info_t.max_accounts:
            return False
        return not (info_p.max_accounts is not None and self.count_p + given_count > info_p.max_accounts)
