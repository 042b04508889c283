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

from solver.construct import UNASSIGNED, State, home_csm
from solver.metrics import integer_edges
from solver.prepare import Pool, Problem, Unit

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
    cap_total = Fraction(sum(problem.csms[c].capacity for c in pool.csms))
    total = Fraction(round(sum(state.arr[c] for c in pool.csms)))
    edges = {c: integer_edges(band, total, cap_total, Fraction(cap)) for c, cap in caps.items()}
    # Per CSM and kind (hours, eligibility, figures other than ARR): the units held, to swap like for like.
    held: dict[int, dict[tuple[object, ...], list[Unit]]] = defaultdict(lambda: defaultdict(list))
    for i in pool.units:
        u = problem.units[i]
        c = state.assign[i]
        if c != UNASSIGNED and c in caps and _swappable(problem, u):
            kind = (
                u.hours,
                id(u.eligible),
                tuple(f for f, b in zip(u.figures, problem.bands, strict=True) if b.metric != "arr"),
            )
            held[c][kind].append(u)

    def excess(c: int, arr: float) -> float:
        lo, hi = edges[c]
        return max(0.0, arr - hi, lo - arr)

    def _partners(worst: int, want_down: bool) -> list[int]:
        """The CSMs furthest on the other side of their band first (they gain most from a trade): a round
        looks at PARTNERS of them, not at every CSM of a pool of hundreds."""

        def room(d: int) -> float:
            lo, hi = edges[d]
            return lo - state.arr[d] if want_down else state.arr[d] - hi

        return heapq.nlargest(PARTNERS, (d for d in caps if d != worst), key=room)

    def _best_trade(worst: int, partners: list[int], want_down: bool) -> tuple[float, Unit, Unit, int] | None:
        best: tuple[float, Unit, Unit, int] | None = None
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
                            excess(worst, state.arr[worst])
                            + excess(d, state.arr[d])
                            - excess(worst, state.arr[worst] + delta)
                            - excess(d, state.arr[d] - delta)
                        )
                        cap_w, cap_d = problem.csms[worst].arr_cap, problem.csms[d].arr_cap
                        if cap_w is not None and state.arr[worst] + delta > cap_w + 1e-6:
                            continue
                        if cap_d is not None and state.arr[d] - delta > cap_d + 1e-6:
                            continue
                        if gain > 1e-6 and (best is None or gain > best[0]):
                            best = (gain, u, v, d)
        return best

    swaps = 0
    for _ in range(max_rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        worst = max(caps, key=lambda c: excess(c, state.arr[c]))
        if excess(worst, state.arr[worst]) <= 0:
            break
        hi = edges[worst][1]
        want_down = state.arr[worst] > hi
        best = _best_trade(worst, _partners(worst, want_down), want_down)
        if best is None and len(caps) > PARTNERS + 1:
            best = _best_trade(worst, [d for d in caps if d != worst], want_down)
        if best is None:
            caps.pop(worst)  # nothing helps this CSM: leave it and look at the others
            if len(caps) < 2:
                break
            continue
        _, u, v, d = best
        state.remove(u)
        state.remove(v)
        state.place(u, d)
        state.place(v, worst)
        kind = (
            u.hours,
            id(u.eligible),
            tuple(f for f, b in zip(u.figures, problem.bands, strict=True) if b.metric != "arr"),
        )
        held[worst][kind].remove(u)
        held[d][kind].remove(v)
        held[worst][kind].append(v)
        held[d][kind].append(u)
        swaps += 1
    return swaps
