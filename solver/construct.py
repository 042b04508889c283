"""The constructive plan: a strong, cap-respecting starting point that CP-SAT then improves.

Keeps every existing relationship that breaks no rule, takes the fewest accounts off CSMs who are over a cap,
places the rest largest-first on the least-utilized CSM that can take them, and pulls CSMs into the
balance band. Every step respects capacity, ARR cap, book-size cap, eligibility and freezes, so the result
is always a valid plan (possibly with unserved accounts) and a good CP-SAT hint.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

from solver.prepare import Pool, Problem, Unit, shared_set

UNASSIGNED = -1


@dataclass
class State:
    """A plan under construction: a CSM (or UNASSIGNED) per unit, and each CSM's running totals."""

    problem: Problem
    assign: list[int]
    load: list[int]
    arr: list[float]
    count: list[int]
    figures: list[list[int]] = field(default_factory=list)  # per CSM, per band of problem.bands

    @classmethod
    def empty(cls, problem: Problem) -> State:
        n = len(problem.csms)
        figures = [[0] * len(problem.bands) for _ in range(n)] if problem.bands else []
        return cls(problem, [UNASSIGNED] * len(problem.units), [0] * n, [0.0] * n, [0] * n, figures)

    def fits(self, u: Unit, c: int) -> bool:
        info = self.problem.csms[c]
        if self.load[c] + u.hours_for(c) > info.capacity:
            return False
        if info.arr_cap is not None and self.arr[c] + u.arr > info.arr_cap + 1e-6:
            return False
        return info.max_accounts is None or self.count[c] + u.size <= info.max_accounts

    def place(self, u: Unit, c: int) -> None:
        self.assign[u.index] = c
        self.load[c] += u.hours_for(c)
        self.arr[c] += u.arr
        self.count[c] += u.size
        if u.figures:
            mine = self.figures[c]
            for b, f in enumerate(u.figures):
                mine[b] += f

    def remove(self, u: Unit) -> None:
        c = self.assign[u.index]
        if c == UNASSIGNED:
            return
        self.assign[u.index] = UNASSIGNED
        self.load[c] -= u.hours_for(c)
        self.arr[c] -= u.arr
        self.count[c] -= u.size
        if u.figures:
            mine = self.figures[c]
            for b, f in enumerate(u.figures):
                mine[b] -= f

    def utilization(self, c: int) -> float:
        cap = self.problem.csms[c].capacity
        return self.load[c] / cap if cap > 0 else (0.0 if self.load[c] == 0 else float("inf"))

    def copy(self) -> State:
        return State(
            self.problem,
            list(self.assign),
            list(self.load),
            list(self.arr),
            list(self.count),
            [list(f) for f in self.figures],
        )


def home_csm(problem: Problem, u: Unit) -> int | None:
    """The CSM that holds most of the unit today (by account count), if any."""
    counts: dict[str, int] = {}
    for cur in u.current:
        if cur is not None:
            counts[cur] = counts.get(cur, 0) + 1
    if not counts:
        return None
    best = max(sorted(counts), key=lambda k: counts[k])
    return problem.csm_index[best]


def construct(problem: Problem, state: State, pool: Pool, *, band: float | None, min_cost: bool) -> None:
    """Fill `state` for one pool: keep, repair caps, place the rest, then pull CSMs into the band."""
    units = [problem.units[i] for i in pool.units]
    for u in units:
        if u.fixed is not None:
            state.place(u, u.fixed)
    kept: list[Unit] = []
    for u in units:
        if u.fixed is not None:
            continue
        home = home_csm(problem, u)
        if home is not None and home in shared_set(u.eligible) and not problem.csms[home].left:
            state.place(u, home)
            kept.append(u)
    _repair_caps(problem, state, pool, kept)
    free = [u for u in units if state.assign[u.index] == UNASSIGNED and u.eligible]
    # The regret heuristic rescans every unit for every placement: affordable up to ~2e7 pair looks.
    if min_cost and len(free) ** 2 * max(1, len(pool.csms)) <= 20_000_000:
        regret_assignment(problem, state, free)
    else:
        _place_largest_first(problem, state, free, min_cost=min_cost)
    if band is not None and not min_cost:
        pull_into_band(problem, state, pool, band)


def _repair_caps(problem: Problem, state: State, pool: Pool, kept: list[Unit]) -> None:
    """Take the fewest kept units off each CSM who is over capacity, ARR cap or book-size cap."""
    by_csm: dict[int, list[Unit]] = {}
    for u in kept:
        by_csm.setdefault(state.assign[u.index], []).append(u)
    for c, held in by_csm.items():
        info = problem.csms[c]
        # Largest hours first frees capacity with the fewest moves; lower ARR breaks ties.
        for u in sorted(held, key=lambda u: (-u.hours_for(c), u.arr)):
            over_hours = state.load[c] > info.capacity
            over_arr = info.arr_cap is not None and state.arr[c] > info.arr_cap + 1e-6
            over_count = info.max_accounts is not None and state.count[c] > info.max_accounts
            if not (over_hours or over_arr or over_count):
                break
            if over_hours or over_count or (over_arr and u.arr > 0):
                state.remove(u)


def _place_largest_first(problem: Problem, state: State, free: list[Unit], *, min_cost: bool) -> None:
    """Largest units first, each to the eligible CSM left least utilized (or cheapest, for min_cost)."""
    ordered = sorted(free, key=lambda u: (-u.hours, -u.arr, u.index))
    if min_cost or any(u.hours_by_csm for u in free):
        _place_scanning(problem, state, ordered, min_cost=min_cost)
        return
    # One lazy heap of (utilization, CSM) per eligibility profile: O(log n) per account instead of a scan
    # of every eligible CSM, which is what keeps 100,000-account books fast.
    heaps: dict[int, list[tuple[float, int]]] = {}
    for u in ordered:
        heap = heaps.get(id(u.eligible))
        if heap is None:
            heap = [(state.utilization(c), c) for c in u.eligible]
            heapq.heapify(heap)
            heaps[id(u.eligible)] = heap
        aside: list[tuple[float, int]] = []
        while heap:
            util, c = heapq.heappop(heap)
            now = state.utilization(c)
            if now != util:  # stale: another profile's account landed on this CSM
                heapq.heappush(heap, (now, c))
                continue
            if state.fits(u, c):
                state.place(u, c)
                heapq.heappush(heap, (state.utilization(c), c))
                break
            aside.append((util, c))
        for entry in aside:
            heapq.heappush(heap, entry)


def _place_scanning(problem: Problem, state: State, ordered: list[Unit], *, min_cost: bool) -> None:
    caps = [max(info.capacity, 1) for info in problem.csms]
    for u in ordered:
        best, best_key = UNASSIGNED, (float("inf"), float("inf"))
        for c in u.eligible:
            if not state.fits(u, c):
                continue
            after = (state.load[c] + u.hours_for(c)) / caps[c]
            key = (u.cost_by_csm.get(c, 0.0), after) if min_cost else (after, 0.0)
            if key < best_key:
                best, best_key = c, key
        if best != UNASSIGNED:
            state.place(u, best)


def pool_mean(problem: Problem, state: State, pool: Pool) -> float:
    cap = sum(problem.csms[c].capacity for c in pool.csms)
    load = sum(state.load[c] for c in pool.csms)
    return load / cap if cap else 0.0


def pull_into_band(problem: Problem, state: State, pool: Pool, tolerance: float, rounds: int = 4) -> None:
    """Move units from CSMs above the band to CSMs below it, fewest and smallest-ARR moves first.

    Only units that can move (not frozen) and whose move keeps both CSMs inside their caps are moved; a
    unit that would land back on its home CSM is preferred, so repairs undo earlier displacements first.
    """
    mean = pool_mean(problem, state, pool)
    csms = [c for c in pool.csms if problem.csms[c].capacity > 0]
    if not csms:
        return
    upper = {c: (mean + tolerance) * problem.csms[c].capacity for c in csms}
    lower = {c: (mean - tolerance) * problem.csms[c].capacity for c in csms}
    held: dict[int, list[Unit]] = {c: [] for c in csms}
    for i in pool.units:
        a = state.assign[i]
        if a in held and problem.units[i].fixed is None:
            held[a].append(problem.units[i])
    for _ in range(rounds):
        changed = False
        for donor in sorted(csms, key=lambda c: -state.utilization(c)):
            while state.load[donor] > upper[donor]:
                move = _best_move(problem, state, held[donor], csms, upper, lower, donor, pushing=True)
                if move is None:
                    break
                _apply(state, held, move, donor)
                changed = True
        for taker in sorted(csms, key=state.utilization):
            while state.load[taker] < lower[taker]:
                donors = [c for c in sorted(csms, key=lambda c: -state.utilization(c)) if c != taker]
                moved = False
                for donor in donors:
                    if state.utilization(donor) <= mean:
                        break
                    need = lower[taker] - state.load[taker]
                    cands = [
                        u
                        for u in held[donor]
                        if taker in shared_set(u.eligible)
                        and state.fits(u, taker)
                        and state.load[donor] - u.hours_for(donor) >= lower[donor]
                        and state.load[taker] + u.hours_for(taker) <= upper[taker]
                    ]
                    if cands:
                        u = min(cands, key=lambda u: (abs(u.hours_for(taker) - need), u.arr))
                        _apply(state, held, (u, taker), donor)
                        moved = changed = True
                        break
                if not moved:
                    break
        if not changed:
            break


def _best_move(
    problem: Problem,
    state: State,
    units: list[Unit],
    csms: list[int],
    upper: dict[int, float],
    lower: dict[int, float],
    donor: int,
    *,
    pushing: bool,
) -> tuple[Unit, int] | None:
    excess = state.load[donor] - upper[donor]
    best: tuple[Unit, int] | None = None
    best_key: tuple[float, ...] | None = None
    for u in units:
        home = home_csm(problem, u)
        for c in u.eligible:
            if c == donor or c not in upper or not state.fits(u, c):
                continue
            if state.load[c] + u.hours_for(c) > upper[c]:
                continue
            # Prefer: going home, one move clearing the excess, then the smallest ARR moved.
            clears = 0 if u.hours_for(donor) >= excess else 1
            key = (0 if c == home else 1, clears, u.arr, state.utilization(c))
            if best_key is None or key < best_key:
                best, best_key = (u, c), key
    return best


def _apply(state: State, held: dict[int, list[Unit]], move: tuple[Unit, int], donor: int) -> None:
    u, c = move
    state.remove(u)
    state.place(u, c)
    held[donor].remove(u)
    held.setdefault(c, []).append(u)


def _free(problem: Problem, u: Unit) -> bool:
    """May the local searches move this unit freely? Not frozen, no pair hours, no existing relationship."""
    return u.fixed is None and not u.hours_by_csm and home_csm(problem, u) is None


def level_by_local_search(
    problem: Problem,
    state: State,
    pool: Pool,
    *,
    deadline: float,
    max_steps: int,
    keeps: Callable[[Unit, Unit | None, int, int], bool] | None = None,
) -> int:
    """Lower the pool's largest utilization by moving or swapping accounts that have no home CSM.

    Only units without a current CSM (and not frozen) take part, so the search never creates a move of an
    existing relationship. Each step takes the most utilized CSM and applies the single move, or swap of
    two units of different hours, that lowers it the most without pushing the other CSM to that level.
    With `keeps`, only moves and swaps it allows (out, into or None, from, to) are taken. Returns the number
    of steps taken.
    """
    csms = [c for c in pool.csms if problem.csms[c].capacity > 0]
    if len(csms) < 2:
        return 0
    cap = {c: problem.csms[c].capacity for c in csms}
    free_on: dict[int, dict[int, list[Unit]]] = {c: {} for c in csms}  # csm -> hours -> units
    for i in pool.units:
        u = problem.units[i]
        c = state.assign[i]
        if c in free_on and _free(problem, u):
            free_on[c].setdefault(u.hours, []).append(u)
    eligible_sets = {i: shared_set(problem.units[i].eligible) for i in pool.units}

    def util(c: int, extra: int = 0) -> float:
        return (state.load[c] + extra) / cap[c]

    def fits_swap(out: Unit, into: Unit, c_from: int, c_to: int) -> bool:
        # `out` leaves c_from for c_to while `into` leaves c_to for c_from.
        info_f, info_t = problem.csms[c_from], problem.csms[c_to]
        if info_f.arr_cap is not None and state.arr[c_from] - out.arr + into.arr > info_f.arr_cap + 1e-6:
            return False
        if info_t.arr_cap is not None and state.arr[c_to] - into.arr + out.arr > info_t.arr_cap + 1e-6:
            return False
        if (
            info_f.max_accounts is not None
            and state.count[c_from] - out.size + into.size > info_f.max_accounts
        ):
            return False
        return not (
            info_t.max_accounts is not None and state.count[c_to] - into.size + out.size > info_t.max_accounts
        )

    steps = 0
    stuck: set[int] = set()
    while steps < max_steps and time.monotonic() < deadline:
        order = sorted((c for c in csms if c not in stuck), key=lambda c: -util(c))
        if not order:
            break
        top = order[0]
        level = util(top)
        best: tuple[float, Unit, int, Unit | None] | None = None
        for hours, units in free_on[top].items():
            if not units:
                continue
            for c in reversed(order[1:] + [s for s in stuck if s != top]):
                if util(c, hours) >= level - 1e-12:
                    continue
                mover = next(
                    (
                        x
                        for x in units
                        if c in eligible_sets[x.index]
                        and state.fits(x, c)
                        and (keeps is None or keeps(x, None, top, c))
                    ),
                    None,
                )
                if mover is None:
                    continue
                new_level = max(util(top, -hours), util(c, hours))
                if best is None or new_level < best[0]:
                    best = (new_level, mover, c, None)
                break  # the least utilized CSM that can take this size is the best target for it
        if best is None:
            # Swap a unit of `top` for a smaller one of another CSM.
            for c in reversed(order[1:]):
                for h_out, outs in free_on[top].items():
                    if not outs:
                        continue
                    for h_in, ins in free_on[c].items():
                        delta = h_out - h_in
                        if delta <= 0 or not ins or util(c, delta) >= level - 1e-12:
                            continue
                        new_level = max(util(top, -delta), util(c, delta))
                        if best is not None and new_level >= best[0]:
                            continue
                        pair = next(
                            (
                                (o, i)
                                for o in outs
                                if c in eligible_sets[o.index]
                                for i in ins
                                if top in eligible_sets[i.index]
                                and fits_swap(o, i, top, c)
                                and (keeps is None or keeps(o, i, top, c))
                            ),
                            None,
                        )
                        if pair is not None:
                            best = (new_level, pair[0], c, pair[1])
                if best is not None and best[0] < level - 1e-12:
                    break
        if best is None or best[0] >= level - 1e-12:
            stuck.add(top)
            continue
        _, out, c, into = best
        state.remove(out)
        free_on[top][out.hours].remove(out)
        if into is not None:
            state.remove(into)
            free_on[c][into.hours].remove(into)
            state.place(into, top)
            free_on[top].setdefault(into.hours, []).append(into)
        state.place(out, c)
        free_on[c].setdefault(out.hours, []).append(out)
        stuck.discard(c)
        steps += 1
    return steps


def regret_assignment(problem: Problem, state: State, units: list[Unit]) -> None:
    """Martello–Toth regret heuristic for min_cost (generalized assignment), run with two desirabilities.

    Repeatedly the unit with the largest regret (best option minus second best) goes to its best CSM.
    Desirability by cost finds cheap plans; by hours relative to the free capacity it finds plans that
    serve everyone when capacities are tight. The better plan (more served, then cheaper) is kept.
    """
    free = [u for u in units if state.assign[u.index] == UNASSIGNED and u.eligible]
    if not free:
        return
    best_plan: tuple[tuple[int, float], State] | None = None
    for criterion in ("hours", "cost"):
        trial = state.copy()
        todo = list(free)
        while todo:
            pick: tuple[float, int, Unit, int] | None = None
            stuck: list[Unit] = []
            for u in todo:
                scores = []
                for c in u.eligible:
                    if not trial.fits(u, c):
                        continue
                    if criterion == "cost":
                        score = -u.cost_by_csm.get(c, 0.0)
                    else:
                        room = problem.csms[c].capacity - trial.load[c]
                        score = -u.hours_for(c) / max(room, 1)
                    scores.append((score, c))
                if not scores:
                    stuck.append(u)
                    continue
                scores.sort(reverse=True)
                regret = scores[0][0] - scores[1][0] if len(scores) > 1 else float("inf")
                key = (regret, -u.index, u, scores[0][1])
                if pick is None or key[:2] > pick[:2]:
                    pick = key
            for u in stuck:
                todo.remove(u)
            if pick is None:
                break
            _, _, u, c = pick
            trial.place(u, c)
            todo.remove(u)
        served = sum(u.size for u in free if trial.assign[u.index] != UNASSIGNED)
        cost = sum(
            u.cost_by_csm.get(trial.assign[u.index], 0.0) for u in free if trial.assign[u.index] != UNASSIGNED
        )
        score_key = (served, -cost)
        if best_plan is None or score_key > best_plan[0]:
            best_plan = (score_key, trial)
    assert best_plan is not None
    chosen = best_plan[1]
    for u in free:
        c = chosen.assign[u.index]
        if c != UNASSIGNED:
            state.place(u, c)


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
        if c in free_on and _free(problem, u):
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
    g = 0
    for u in movable:
        g = math.gcd(g, u.hours)
    if g == 0:
        return None
    info_t, info_p = problem.csms[top], problem.csms[partner]
    cap_t, cap_p = info_t.capacity, info_p.capacity
    total = sum(u.hours for u in movable)
    on_top = [u for u in movable if state.assign[u.index] == top]
    on_partner = [u for u in movable if state.assign[u.index] == partner]
    base_t = state.load[top] - sum(u.hours for u in on_top)
    base_p = state.load[partner] - sum(u.hours for u in on_partner)
    arr_t = state.arr[top] - sum(u.arr for u in on_top)
    arr_p = state.arr[partner] - sum(u.arr for u in on_partner)
    count_t = state.count[top] - sum(u.size for u in on_top)
    count_p = state.count[partner] - sum(u.size for u in on_partner)
    steps = [u.hours // g for u in movable]
    # tables[i]: bit s set when some choice among the first i units has s x g hours.
    tables = [1]
    for step in steps:
        tables.append(tables[-1] | (tables[-1] << step))
    reach = tables[-1]
    # What top may take: within both capacities.
    lo = max(0, -(-(total - (cap_p - base_p)) // g))
    hi = min(total // g, (cap_t - base_t) // g)
    if lo > hi:
        return None
    reach &= ((1 << (hi + 1)) - 1) & ~((1 << lo) - 1)
    if not reach:
        return None

    def utilizations(s: int) -> tuple[float, float]:
        """Both CSMs' utilizations when `top` takes s x g of the movable hours."""
        return (base_t + s * g) / cap_t, (base_p + total - s * g) / cap_p

    def value(s: int) -> float:
        return max(utilizations(s))

    # The even split, and the reachable loads nearest to it on either side.
    ideal = (cap_t * (base_p + total) - cap_p * base_t) / (cap_t + cap_p) / g
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
    if wander:
        # Neither CSM may rise above the pair's larger utilization nor fall below its smaller one, so a
        # walk never pushes anyone out of the balance band.
        least = min(state.load[top] / cap_t, state.load[partner] / cap_p)
        ordered = [
            s for s in candidates if value(s) <= level + 1e-12 and min(utilizations(s)) >= least - 1e-12
        ]
        rng.shuffle(ordered)
    else:
        ordered = [s for s in sorted(candidates, key=value) if value(s) < level - 1e-12]
    for s in ordered:
        for _ in range(4):
            chosen: list[Unit] = []
            rest = s
            for i in range(len(movable), 0, -1):
                step = steps[i - 1]
                skip = (tables[i - 1] >> rest) & 1
                take = rest >= step and (tables[i - 1] >> (rest - step)) & 1
                if take and (not skip or rng.random() < 0.5):
                    chosen.append(movable[i - 1])
                    rest -= step
            kept_arr = sum(u.arr for u in chosen)
            kept_count = sum(u.size for u in chosen)
            given_arr = sum(u.arr for u in movable) - kept_arr
            given_count = sum(u.size for u in movable) - kept_count
            if info_t.arr_cap is not None and arr_t + kept_arr > info_t.arr_cap + 1e-6:
                continue
            if info_p.arr_cap is not None and arr_p + given_arr > info_p.arr_cap + 1e-6:
                continue
            if info_t.max_accounts is not None and count_t + kept_count > info_t.max_accounts:
                continue
            if info_p.max_accounts is not None and count_p + given_count > info_p.max_accounts:
                continue
            return [u.index for u in chosen]
    return None
