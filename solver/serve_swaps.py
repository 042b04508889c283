"""Serving more ARR in a pool that cannot serve every account, by exchanges (no solver).

Construction places the largest accounts first and balances hours; in a tight pool that leaves out
whatever fits last, not what covers the least ARR. This search fixes that before the serve phase's MIP and
CP-SAT start from the plan. Every unserved account, most ARR first, is placed where it fits, or makes room
on a CSM it may have: a served account there moves to another CSM with room, or two served accounts trade
CSMs, or one or two served accounts of less ARR are left unserved. When none of that helps, two unserved
accounts take the place of one served account of less ARR. Every step serves more ARR, keeps every hard
rule and stays within the moves `policy.max_moves` allows.
"""

from __future__ import annotations

import time

from solver.prepare import shared_set
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State

# CSMs with the most free hours tried as a new home for the account that makes room.
ROOMIEST = 4
# Served accounts of least ARR per hour on a CSM tried in pairs (and unserved ones of most ARR, twice as
# many) for the exchanges of two accounts against one.
PAIR_CANDIDATES = 10
# Accounts of the same hours on one CSM tried in a trade (they are alike but for their caps).
TRADE_ALIKE = 3

Change = tuple[Unit, int]  # a unit and the CSM it goes to (UNASSIGNED: left unserved)


def serve_more_by_exchanges(
    problem: Problem,
    state: State,
    pool: Pool,
    deadline: float | None,
    *,
    max_work: int | None = None,
    moves_left: int | None = None,
) -> float:
    """Raise the ARR the pool serves by placements and exchanges; returns the ARR gained.

    It stops at `deadline` (monotonic seconds) or once it has looked at about `max_work` served accounts
    (deterministic mode's clock-free limit), whichever comes first. `moves_left`: how many more accounts
    may change CSM (None: no limit).
    """
    return ServeSearch(problem, state, pool, moves_left).run(deadline, max_work)


class ServeSearch:
    """The exchanges of one pool, with each CSM's served units and the moves still allowed."""

    def __init__(self, problem: Problem, state: State, pool: Pool, moves_left: int | None) -> None:
        self.problem, self.state, self.pool = problem, state, pool
        self.csms = [c for c in pool.csms if problem.csms[c].capacity > 0 and not problem.csms[c].left]
        self.in_pool = set(self.csms)
        self.held: dict[int, list[Unit]] = {c: [] for c in self.csms}
        for i in pool.units:
            c = state.assign[i]
            if c in self.held:
                self.held[c].append(problem.units[i])
        self.moves_left = moves_left

    def run(self, deadline: float | None, max_work: int | None) -> float:
        problem, state = self.problem, self.state
        gained, work = 0.0, 0
        improved = True
        while improved:
            improved = False
            waiting = [
                problem.units[i]
                for i in self.pool.units
                if state.assign[i] == UNASSIGNED and problem.units[i].fixed is None
            ]
            for u in sorted(waiting, key=lambda u: (-u.arr, u.index)):
                work += len(self.pool.units)
                if (deadline is not None and time.monotonic() > deadline) or (
                    max_work is not None and work > max_work
                ):
                    return gained
                if state.assign[u.index] != UNASSIGNED:
                    continue
                options = [c for c in u.eligible if c in self.in_pool]
                if self.place(u, options):  # served: its ARR, or for an account of $0 one more account
                    gained += u.arr
                    improved = True
                    continue
                gain = self.make_room(u, options)
                if gain > 0:
                    gained += gain
                    improved = True
            if not improved:
                gain = self.two_in(waiting)
                gained += gain
                improved = gain > 0
        return gained

    # ------------------------------------------------------------ moves and caps

    def _moves(self, u: Unit, c: int) -> int:
        return 0 if c == UNASSIGNED else u.moves_if(self.problem.csms[c].id)

    def affordable(self, changes: list[Change]) -> bool:
        """Do the changes keep within the moves still allowed?"""
        if self.moves_left is None:
            return True
        delta = sum(self._moves(u, c) - self._moves(u, self.state.assign[u.index]) for u, c in changes)
        return delta <= self.moves_left

    def apply(self, changes: list[Change]) -> None:
        state = self.state
        if self.moves_left is not None:
            self.moves_left -= sum(
                self._moves(u, c) - self._moves(u, state.assign[u.index]) for u, c in changes
            )
        for u, _ in changes:
            now = state.assign[u.index]
            if now != UNASSIGNED:
                self.held[now].remove(u)
                state.remove(u)
        for u, c in changes:
            if c != UNASSIGNED:
                state.place(u, c)
                self.held[c].append(u)

    def room_after(self, c: int, out: list[Unit], into: list[Unit]) -> bool:
        """Does CSM c keep its capacity, ARR cap and book-size cap once `out` leave and `into` join?"""
        state, info = self.state, self.problem.csms[c]
        hours = state.load[c] - sum(v.hours_for(c) for v in out) + sum(w.hours_for(c) for w in into)
        if hours > info.capacity:
            return False
        arr = state.arr[c] - sum(v.arr for v in out) + sum(w.arr for w in into)
        if info.arr_cap is not None and arr > info.arr_cap + 1e-6:
            return False
        count = state.count[c] - sum(v.size for v in out) + sum(w.size for w in into)
        return info.max_accounts is None or count <= info.max_accounts

    # ------------------------------------------------------------ the steps

    def place(self, u: Unit, options: list[int]) -> bool:
        """Place u on the CSM it fits best (least hours left over); whether it fits anywhere."""
        state = self.state
        fitting = [c for c in options if state.fits(u, c) and self.affordable([(u, c)])]
        if not fitting:
            return False
        cap = self.problem.csms
        c = min(fitting, key=lambda c: (cap[c].capacity - state.load[c] - u.hours_for(c), c))
        self.apply([(u, c)])
        return True

    def make_room(self, u: Unit, options: list[int]) -> float:
        """u takes the place of a served account v, which moves to a roomy CSM (gain: u's ARR); else two served
        accounts trade CSMs so that u fits (gain: u's ARR); else the served account, or two, of less ARR whose
        leaving gains the most are left unserved. 0 when nothing gains."""
        state = self.state
        roomiest = sorted(self.csms, key=lambda c: state.load[c] - self.problem.csms[c].capacity)[
            : ROOMIEST + 1
        ]
        best: tuple[float, list[Change]] | None = None
        for c in options:
            for v in self.held[c]:
                if v.fixed is not None or not self.room_after(c, [v], [u]):
                    continue
                allowed = shared_set(v.eligible)
                for c2 in roomiest:
                    if c2 != c and c2 in allowed and state.fits(v, c2) and self.affordable([(v, c2), (u, c)]):
                        self.apply([(v, c2), (u, c)])
                        return u.arr
                left_out = [(v, UNASSIGNED), (u, c)]
                if v.arr < u.arr and (best is None or u.arr - v.arr > best[0]) and self.affordable(left_out):
                    best = (u.arr - v.arr, left_out)
        if self.trade(u, options):
            return u.arr
        if best is None:
            best = self.two_out(u, options)
        if best is None:
            return 0.0
        self.apply(best[1])
        return best[0]

    def trade(self, u: Unit, options: list[int]) -> bool:
        """Two served accounts trade CSMs so that u fits: v leaves c for c2 and w, lighter, leaves c2 for c;
        everyone stays served."""
        free = {c: self.problem.csms[c].capacity - self.state.load[c] for c in self.csms}
        kinds = {c: self._by_hours(c) for c in self.csms}
        for c in options:
            need = u.hours_for(c) - free[c]  # v must be at least this much heavier than w
            for hv, vs in kinds[c].items():
                if hv < need:
                    continue
                for c2 in self.csms:
                    if c2 == c:
                        continue
                    for hw, ws in kinds[c2].items():
                        if not hv - free[c2] <= hw <= hv - need:
                            continue
                        for v in vs:
                            if c2 in shared_set(v.eligible) and self._trade_with(u, v, ws, c, c2):
                                return True
        return False

    def _trade_with(self, u: Unit, v: Unit, ws: list[Unit], c: int, c2: int) -> bool:
        for w in ws:
            changes = [(v, c2), (w, c), (u, c)]
            if (
                c in shared_set(w.eligible)
                and self.room_after(c, [v], [w, u])
                and self.room_after(c2, [w], [v])
                and self.affordable(changes)
            ):
                self.apply(changes)
                return True
        return False

    def _by_hours(self, c: int) -> dict[int, list[Unit]]:
        """A CSM's movable accounts by their hours (a few of each: they are alike for a trade)."""
        out: dict[int, list[Unit]] = {}
        for v in self.held[c]:
            if v.fixed is None:
                kind = out.setdefault(v.hours_for(c), [])
                if len(kind) < TRADE_ALIKE:
                    kind.append(v)
        return out

    def two_out(self, u: Unit, options: list[int]) -> tuple[float, list[Change]] | None:
        """The two served accounts of least ARR per hour on one CSM whose places u can take, covering less ARR
        than u: (gain, the changes), the largest gain; None when there are none."""
        best: tuple[float, list[Change]] | None = None
        for c in options:
            cheap = sorted(
                (v for v in self.held[c] if v.fixed is None and v.arr < u.arr),
                key=lambda v: v.arr / max(1, v.hours_for(c)),
            )[:PAIR_CANDIDATES]
            for a, v in enumerate(cheap):
                for w in cheap[a + 1 :]:
                    gain = u.arr - v.arr - w.arr
                    changes = [(v, UNASSIGNED), (w, UNASSIGNED), (u, c)]
                    if (
                        gain > 0
                        and (best is None or gain > best[0])
                        and self.room_after(c, [v, w], [u])
                        and self.affordable(changes)
                    ):
                        best = (gain, changes)
        return best

    def two_in(self, waiting: list[Unit]) -> float:
        """Two unserved accounts take the place of one served account covering less ARR than both together,
        on the CSM where that gains the most; returns the gain (0: no such exchange)."""
        state = self.state
        waiting = [u for u in waiting if state.assign[u.index] == UNASSIGNED]
        best: tuple[float, list[Change]] | None = None
        for c, units in self.held.items():
            free = self.problem.csms[c].capacity - state.load[c]
            mine = sorted((u for u in waiting if c in shared_set(u.eligible)), key=lambda u: -u.arr)
            mine = mine[: PAIR_CANDIDATES * 2]
            outs = sorted((v for v in units if v.fixed is None), key=lambda v: v.arr / max(1, v.hours_for(c)))
            for v in outs[:PAIR_CANDIDATES]:
                room = free + v.hours_for(c)
                for a, u1 in enumerate(mine):
                    for u2 in mine[a + 1 :]:
                        gain = u1.arr + u2.arr - v.arr
                        if gain <= 0 or (best is not None and gain <= best[0]):
                            continue
                        changes = [(v, UNASSIGNED), (u1, c), (u2, c)]
                        if (
                            u1.hours_for(c) + u2.hours_for(c) <= room
                            and self.room_after(c, [v], [u1, u2])
                            and self.affordable(changes)
                        ):
                            best = (gain, changes)
        if best is None:
            return 0.0
        self.apply(best[1])
        return best[0]
