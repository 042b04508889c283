"""Local searches that lower a pool's utilization level one account at a time: pulling CSMs into the
balance band, and moving or swapping accounts off the most utilized CSM. Neither moves an existing
relationship it does not have to: the band pull prefers accounts going home, the level search moves only
accounts without a CSM today."""

from __future__ import annotations

import time
from collections.abc import Callable

from solver.prepare import shared_set
from solver.problem import Pool, Problem, Unit
from solver.state import State, home_csm, pool_mean


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


def movable_freely(problem: Problem, u: Unit) -> bool:
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
    search = _LevelSearch(problem, state, pool, csms, keeps)
    steps = 0
    stuck: set[int] = set()  # CSMs no move or swap can lower, until one of them takes a unit
    while steps < max_steps and time.monotonic() < deadline:
        order = sorted((c for c in csms if c not in stuck), key=lambda c: -search.util(c))
        if not order:
            break
        top = order[0]
        level = search.util(top)
        others = order[1:]
        best = search.best_move(top, list(reversed(others + [s for s in stuck if s != top])), level)
        if best is None:
            best = search.best_swap(top, list(reversed(others)), level)
        if best is None or best[0] >= level - 1e-12:
            stuck.add(top)
            continue
        _, out, c, into = best
        search.apply(out, top, c, into)
        stuck.discard(c)
        steps += 1
    return steps


# (the level after, the unit leaving the top CSM, the CSM taking it, the unit coming back in a swap)
_Step = tuple[float, Unit, int, Unit | None]


class _LevelSearch:
    """The pool's free units by CSM and hours, and the moves and swaps that lower the top CSM's load."""

    def __init__(
        self,
        problem: Problem,
        state: State,
        pool: Pool,
        csms: list[int],
        keeps: Callable[[Unit, Unit | None, int, int], bool] | None,
    ) -> None:
        self.problem, self.state, self.keeps = problem, state, keeps
        self.cap = {c: problem.csms[c].capacity for c in csms}
        self.free_on: dict[int, dict[int, list[Unit]]] = {c: {} for c in csms}  # csm -> hours -> units
        for i in pool.units:
            u = problem.units[i]
            c = state.assign[i]
            if c in self.free_on and movable_freely(problem, u):
                self.free_on[c].setdefault(u.hours, []).append(u)
        self.eligible_sets = {i: shared_set(problem.units[i].eligible) for i in pool.units}

    def util(self, c: int, extra: int = 0) -> float:
        return (self.state.load[c] + extra) / self.cap[c]

    def best_move(self, top: int, targets: list[int], level: float) -> _Step | None:
        """The single move of a free unit off `top` that leaves the lowest level: for each size of unit,
        to the first of `targets` (least utilized first) that can take one and stays below `level`."""
        best: _Step | None = None
        for hours, units in self.free_on[top].items():
            if not units:
                continue
            for c in targets:
                if self.util(c, hours) >= level - 1e-12:
                    continue
                mover = next(
                    (
                        x
                        for x in units
                        if c in self.eligible_sets[x.index]
                        and self.state.fits(x, c)
                        and (self.keeps is None or self.keeps(x, None, top, c))
                    ),
                    None,
                )
                if mover is None:
                    continue
                new_level = max(self.util(top, -hours), self.util(c, hours))
                if best is None or new_level < best[0]:
                    best = (new_level, mover, c, None)
                break  # the least utilized CSM that can take this size is the best target for it
        return best

    def best_swap(self, top: int, partners: list[int], level: float) -> _Step | None:
        """A unit of `top` traded for a smaller one of a partner (least utilized first), lowering the level
        the most; the first partner offering a lower level ends the search."""
        best: _Step | None = None
        for c in partners:
            for h_out, outs in self.free_on[top].items():
                if not outs:
                    continue
                for h_in, ins in self.free_on[c].items():
                    delta = h_out - h_in
                    if delta <= 0 or not ins or self.util(c, delta) >= level - 1e-12:
                        continue
                    new_level = max(self.util(top, -delta), self.util(c, delta))
                    if best is not None and new_level >= best[0]:
                        continue
                    pair = next(
                        (
                            (o, i)
                            for o in outs
                            if c in self.eligible_sets[o.index]
                            for i in ins
                            if top in self.eligible_sets[i.index]
                            and self._swap_keeps_caps(o, i, top, c)
                            and (self.keeps is None or self.keeps(o, i, top, c))
                        ),
                        None,
                    )
                    if pair is not None:
                        best = (new_level, pair[0], c, pair[1])
            if best is not None and best[0] < level - 1e-12:
                break
        return best

    def _swap_keeps_caps(self, out: Unit, into: Unit, c_from: int, c_to: int) -> bool:
        """`out` leaving c_from for c_to while `into` leaves c_to for c_from keeps both ARR and book-size
        caps (hours are checked by the level)."""
        state = self.state
        info_f, info_t = self.problem.csms[c_from], self.problem.csms[c_to]
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

    def apply(self, out: Unit, top: int, c: int, into: Unit | None) -> None:
        state, free_on = self.state, self.free_on
        state.remove(out)
        free_on[top][out.hours].remove(out)
        if into is not None:
            state.remove(into)
            free_on[c][into.hours].remove(into)
            state.place(into, top)
            free_on[top].setdefault(into.hours, []).append(into)
        state.place(out, c)
        free_on[c].setdefault(out.hours, []).append(out)
