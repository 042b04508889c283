"""ARR band repair by swaps that change nothing else: two accounts of the same hours, eligibility and
metric figures trade CSMs, so every CSM's hours, book size and other figures stay as they are and only
ARR moves. Used after the model on pools it did not prove (large pools price ARR in buckets, and a CSM
the model thought inside the ARR band can be outside it by the real figures).
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from fractions import Fraction

from solver.metrics import Band, integer_edges
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State, home_csm

CANDIDATES = 6
PARTNERS = 40  # CSMs a round trades with first (the furthest on the other side of their band)


def _swappable(problem: Problem, u: Unit) -> bool:
    return u.fixed is None and u.size == 1 and not u.hours_by_csm and home_csm(problem, u) is None


def even_out_arr_by_swaps(
    problem: Problem, state: State, pool: Pool, deadline: float | None, max_rounds: int = 2000
) -> int:
    """Swap equal-hours accounts between CSMs while it lowers the ARR outside the band; returns swaps made."""
    band = next((b for b in problem.bands if b.metric == "arr"), None)
    if band is None:
        return 0
    caps = {c: problem.csms[c].capacity for c in pool.csms if problem.csms[c].capacity > 0}
    if len(caps) < 2:
        return 0
    return ArrBandRepair(problem, state, pool, band, caps).run(deadline, max_rounds)


Trade = tuple[float, Unit, Unit, int]  # (ARR outside the band it removes, unit given, unit taken, partner)


class ArrBandRepair:
    """One pool's ARR band repair: each round, the CSM furthest outside its band trades one account for one of
    the same kind (hours, eligibility, other figures) with the partner where that removes the most ARR
    outside the bands."""

    def __init__(self, problem: Problem, state: State, pool: Pool, band: Band, caps: dict[int, int]) -> None:
        self.problem, self.state, self.caps = problem, state, caps
        cap_total = Fraction(sum(problem.csms[c].capacity for c in pool.csms))
        total = Fraction(round(sum(state.arr[c] for c in pool.csms)))
        self.edges = {c: integer_edges(band, total, cap_total, Fraction(cap)) for c, cap in caps.items()}
        # Per CSM and kind: the units held, to swap like for like.
        self.held: dict[int, dict[tuple[object, ...], list[Unit]]] = defaultdict(lambda: defaultdict(list))
        for i in pool.units:
            u = problem.units[i]
            c = state.assign[i]
            if c != UNASSIGNED and c in caps and _swappable(problem, u):
                self.held[c][self.kind(u)].append(u)

    def kind(self, u: Unit) -> tuple[object, ...]:
        """What two units must share to trade without changing anything but ARR."""
        return (
            u.hours,
            id(u.eligible),
            tuple(f for f, b in zip(u.figures, self.problem.bands, strict=True) if b.metric != "arr"),
        )

    def excess(self, c: int, arr: float) -> float:
        lo, hi = self.edges[c]
        return max(0.0, arr - hi, lo - arr)

    def run(self, deadline: float | None, max_rounds: int) -> int:
        caps, state = self.caps, self.state
        swaps = 0
        for _ in range(max_rounds):
            if deadline is not None and time.monotonic() > deadline:
                break
            worst = max(caps, key=lambda c: self.excess(c, state.arr[c]))
            if self.excess(worst, state.arr[worst]) <= 0:
                break
            want_down = state.arr[worst] > self.edges[worst][1]
            best = self.best_trade(worst, self.partners(worst, want_down), want_down)
            if best is None and len(caps) > PARTNERS + 1:
                best = self.best_trade(worst, [d for d in caps if d != worst], want_down)
            if best is None:
                caps.pop(worst)  # nothing helps this CSM: leave it and look at the others
                if len(caps) < 2:
                    break
                continue
            self.trade(worst, best)
            swaps += 1
        return swaps

    def partners(self, worst: int, want_down: bool) -> list[int]:
        """The CSMs furthest on the other side of their band first (they gain most from a trade): a round
        looks at PARTNERS of them, not at every CSM of a pool of hundreds."""

        def room(d: int) -> float:
            lo, hi = self.edges[d]
            return lo - self.state.arr[d] if want_down else self.state.arr[d] - hi

        return heapq.nlargest(PARTNERS, (d for d in self.caps if d != worst), key=room)

    def best_trade(self, worst: int, partners: list[int], want_down: bool) -> Trade | None:
        """The trade with one of `partners` that removes the most ARR outside the bands, within the ARR caps."""
        state, held = self.state, self.held
        best: Trade | None = None
        for kind_now, mine in held[worst].items():
            # The few largest (or smallest) ARR of each side: enough to find a good trade, cheap per round.
            ours = sorted(mine, key=lambda w: w.arr, reverse=want_down)[:CANDIDATES]
            for d in partners:
                if not held[d].get(kind_now):
                    continue
                theirs = sorted(held[d][kind_now], key=lambda w: w.arr, reverse=not want_down)[:CANDIDATES]
                for u in ours:
                    if d not in u.eligible:
                        continue
                    for v in theirs:
                        if worst not in v.eligible:
                            continue
                        delta = v.arr - u.arr  # what `worst` gains
                        if (delta >= 0) if want_down else (delta <= 0):
                            continue
                        gain = (
                            self.excess(worst, state.arr[worst])
                            + self.excess(d, state.arr[d])
                            - self.excess(worst, state.arr[worst] + delta)
                            - self.excess(d, state.arr[d] - delta)
                        )
                        cap_w, cap_d = self.problem.csms[worst].arr_cap, self.problem.csms[d].arr_cap
                        if cap_w is not None and state.arr[worst] + delta > cap_w + 1e-6:
                            continue
                        if cap_d is not None and state.arr[d] - delta > cap_d + 1e-6:
                            continue
                        if gain > 1e-6 and (best is None or gain > best[0]):
                            best = (gain, u, v, d)
        return best

    def trade(self, worst: int, best: Trade) -> None:
        _, u, v, d = best
        state = self.state
        state.remove(u)
        state.remove(v)
        state.place(u, d)
        state.place(v, worst)
        kind = self.kind(u)
        self.held[worst][kind].remove(u)
        self.held[d][kind].remove(v)
        self.held[worst][kind].append(v)
        self.held[d][kind].append(u)
