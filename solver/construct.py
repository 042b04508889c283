"""The constructive plan: a strong, cap-respecting starting point that CP-SAT then improves.

Keeps every existing relationship that breaks no rule, takes the fewest accounts off CSMs who are over a cap,
places the rest largest-first on the least-utilized CSM that can take them, and pulls CSMs into the
balance band. Every step respects capacity, ARR cap, book-size cap, eligibility and freezes, so the result
is always a valid plan (possibly with unserved accounts) and a good CP-SAT hint.
"""

from __future__ import annotations

import heapq

from solver.level_search import pull_into_band
from solver.prepare import shared_set
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State, home_csm


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
