"""Which exchanges keep the bands: a CSM inside every band stays inside (those outside may stay so).

Local searches that lower the level after the band phase (solver/level_search.py's `level_by_local_search`)
ask it before each move or swap, so that priority 2 of the contract (the fewest CSMs outside the bands) is
never traded for priority 4 (the level). The searches do not change which accounts are served, so each
band's centre (the pool's total over its total capacity) stays where it is.
"""

from __future__ import annotations

from fractions import Fraction

from solver.metrics import band_edges
from solver.problem import Pool, Problem, Unit
from solver.state import State

# A CSM this close outside an edge counts as inside now, and a figure this close inside an edge as outside
# after a step: the search never relies on float luck to keep a CSM inside.
EDGE_MARGIN = 1e-6


class BandKeeper:
    """The edges of the hours band and of each band of balance_metrics, per CSM of one pool."""

    def __init__(self, problem: Problem, state: State, pool: Pool, tolerance: float) -> None:
        self.problem, self.state = problem, state
        caps = {c: problem.csms[c].capacity for c in pool.csms if problem.csms[c].capacity > 0}
        cap_total = Fraction(sum(problem.csms[c].capacity for c in pool.csms))
        mean = Fraction(sum(state.load[c] for c in pool.csms)) / cap_total
        tol = Fraction(tolerance).limit_denominator(10_000)
        self.hours = {c: (float((mean - tol) * cap), float((mean + tol) * cap)) for c, cap in caps.items()}
        self.bands: list[dict[int, tuple[float, float]]] = []
        for b, band in enumerate(problem.bands):
            total = Fraction(sum(self._figure(c, b) for c in pool.csms))
            self.bands.append(
                {
                    c: tuple(float(x) for x in band_edges(band, total, cap_total, Fraction(cap)))  # type: ignore[misc]
                    for c, cap in caps.items()
                }
            )

    def _figure(self, c: int, b: int) -> float:
        return self.state.arr[c] if self.problem.bands[b].metric == "arr" else self.state.figures[c][b]

    def _unit_figure(self, u: Unit, b: int) -> float:
        return u.arr if self.problem.bands[b].metric == "arr" else u.figures[b]

    def _inside(self, c: int, hours: float, figures: list[float], margin: float) -> bool:
        lo, hi = self.hours[c]
        if not lo + margin <= hours <= hi - margin:
            return False
        for b, edges in enumerate(self.bands):
            lo, hi = edges[c]
            if not lo + margin <= figures[b] <= hi - margin:
                return False
        return True

    def keeps(self, out: Unit, into: Unit | None, c_from: int, c_to: int) -> bool:
        """May `out` go from c_from to c_to (and `into`, if given, from c_to to c_from)?"""
        state = self.state
        for c, leaving, joining in ((c_from, out, into), (c_to, into, out)):
            if c not in self.hours:
                continue
            now = [self._figure(c, b) for b in range(len(self.bands))]
            if not self._inside(c, state.load[c], now, -EDGE_MARGIN):
                continue  # outside already: the search promises nothing more for this CSM
            hours = state.load[c]
            for u, sign in ((leaving, -1), (joining, 1)):
                if u is not None:
                    hours += sign * u.hours_for(c)
                    now = [f + sign * self._unit_figure(u, b) for b, f in enumerate(now)]
            if not self._inside(c, hours, now, EDGE_MARGIN):
                return False
        return True
