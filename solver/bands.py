"""The bands of a pool model: one Boolean per CSM, "outside some band", and what holds when it is false.

The hours band is `balance_tolerance` points of utilization around the pool's mean; each band of
`balance_metrics` is its tolerance times the pool's figure per capacity hour (never under ±1 for counts).
Every band is centred on the pool's total over its total capacity, computed exactly: a constant when the
served accounts are fixed; otherwise it moves with the accounts chosen, and the edges are multiplied out
by the total capacity and the tolerance's denominator. A neighbourhood (LNS) takes the pool's means as given.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from solver.classes import as_expr as _expr
from solver.metrics import integer_edges

if TYPE_CHECKING:
    from solver.model import PoolModel, PoolTotals


class BandConstraints:
    """Adds `out[c]` for every CSM with capacity: when false, every figure of the CSM is inside its band."""

    def __init__(self, pm: PoolModel, tolerance: float, given: PoolTotals | None) -> None:
        self.pm = pm
        self.caps = {c: pm.problem.csms[c].capacity for c in pm.cap_csms}
        self.cap_total = sum(pm.problem.csms[c].capacity for c in pm.csms)
        self.tol = Fraction(tolerance).limit_denominator(10_000)
        self.given = given
        self.out = {c: pm.model.new_bool_var(f"out{c}") for c in pm.cap_csms}
        # The bands whose edges are constants (-1: hours, else the band's index), and whether every band is.
        self.fixed_rows: list[tuple[int, dict[int, tuple[int, int]]]] = []
        self.all_fixed = True
        served_fixed = pm.hint_sum(lambda k, c: pm.classes[k].size) == pm.max_served
        # Per band (-1: hours): how to judge a plan's figures in Python, for hints and held values.
        self.judges: list[Callable[[dict[int, int]], dict[int, tuple[int, int]]]] = []
        self.values: list[Callable[[], dict[int, int]]] = []  # per band: the plan's figures now
        self._hours(served_fixed)
        for b in range(len(pm.bands)):
            if b not in pm.skip_bands:
                self._metric(b, served_fixed)
        self._memo: tuple[int, set[int]] = (-1, set())
        for c, var in self.out.items():
            pm.extra_hints.append((var, functools.partial(self._out_hint, c=c)))

    def _out_hint(self, loads: dict[int, int], *, c: int) -> int:
        """1 when CSM c of the plan so far lies outside some band (computed once per hinted plan)."""
        if self._memo[0] != id(loads):
            self._memo = (id(loads), self.outside_now())
        return int(c in self._memo[1])

    # ---------------------------------------------------------------- hours

    def _hours(self, served_fixed: bool) -> None:
        pm = self.pm
        if self.given is not None:
            mean, tol = self.given.hours_mean, float(self.tol)
            edges = {
                c: (math.ceil((mean - tol) * cap), math.floor((mean + tol) * cap))
                for c, cap in self.caps.items()
            }
            self._fixed_band(pm.load, edges, lambda figs: edges, pm.hint_loads, kind=-1)
            return
        if pm.fixed_total is not None:
            edges = self._hours_edges(pm.fixed_total)
            self._fixed_band(pm.load, edges, lambda figs: edges, pm.hint_loads, kind=-1)
            return
        top = max(self.caps.values())
        if 8 * self.cap_total * self.tol.denominator * top >= 2**62:
            # Past 64-bit integers the band is taken around the plan's mean as given, and nothing is proven.
            pm.band_as_given = True
            edges = self._hours_edges(sum(pm.hint_loads().values()))
            self._fixed_band(pm.load, edges, lambda figs: edges, pm.hint_loads, kind=-1)
            return
        self.all_fixed = False
        load_var = pm.load_variables()
        total = pm.model.new_int_var(0, self.cap_total, "served_hours")
        pm.model.add(total == sum(pm.load[c] for c in pm.csms))
        pm.extra_hints.append((total, lambda loads: sum(loads.values())))
        tn, td = self.tol.numerator, self.tol.denominator
        for c, cap in self.caps.items():
            inside = self.out[c].Not()
            # load <= (S / CAP + tol) cap   and   load >= (S / CAP - tol) cap, multiplied by CAP x td.
            pm.model.add(
                self.cap_total * td * load_var[c] <= cap * td * total + tn * self.cap_total * cap
            ).only_enforce_if(inside)
            pm.model.add(
                self.cap_total * td * load_var[c] >= cap * td * total - tn * self.cap_total * cap
            ).only_enforce_if(inside)
        self.judges.append(lambda _figs: self._hours_edges(sum(pm.hint_loads().values())))
        self.values.append(pm.hint_loads)

    def _hours_edges(self, total: int) -> dict[int, tuple[int, int]]:
        mean = Fraction(total, self.cap_total)
        return {
            c: (math.ceil((mean - self.tol) * cap), math.floor((mean + self.tol) * cap))
            for c, cap in self.caps.items()
        }

    # ---------------------------------------------------------------- metrics

    def _metric(self, b: int, served_fixed: bool) -> None:
        pm = self.pm
        band = pm.bands[b]

        def edges_for(total: int) -> dict[int, tuple[int, int]]:
            return {
                c: integer_edges(band, Fraction(total), Fraction(self.cap_total), Fraction(cap))
                for c, cap in self.caps.items()
            }

        figure = pm.figure[b]
        hint = lambda b=b: pm.hint_figures(b)  # noqa: E731
        if self.given is not None and band.name in self.given.figures:
            given_total, given_cap = self.given.figures[band.name]
            edges = {
                c: integer_edges(band, Fraction(given_total), Fraction(given_cap), Fraction(cap))
                for c, cap in self.caps.items()
            }
            self._fixed_band(figure, edges, lambda figs: edges, hint, kind=b)
            return
        if served_fixed or self.given is not None:
            # Served accounts fixed: the pool's total of the figure is a constant.
            edges = edges_for(sum(hint().values()))
            self._fixed_band(figure, edges, lambda figs: edges, hint, kind=b)
            return
        most = sum(hint().values()) + sum(pm._class_figure(cl, b) * len(cl.units) for cl in pm.classes)
        tol = Fraction(band.tolerance).limit_denominator(10_000)
        tn, td = tol.numerator, tol.denominator
        top = max(self.caps.values())
        if 4 * most * max(self.cap_total * td, top * (td + tn)) >= 2**62:
            pm.band_as_given = True
            edges = edges_for(sum(hint().values()))
            self._fixed_band(figure, edges, lambda figs: edges, hint, kind=b)
            return
        self.all_fixed = False
        total = pm.model.new_int_var(0, most, f"total{b}")
        pm.model.add(total == sum(figure[c] for c in pm.csms))
        pm.extra_hints.append((total, lambda _loads: sum(hint().values())))
        for c, cap in self.caps.items():
            inside = self.out[c].Not()
            # |CAP·v − S·cap| ≤ half, all times td: half = tn·S·cap, or at least CAP·td for counts.
            half: cp_model.LinearExprT = tn * cap * total
            if band.counts:
                hw = pm.model.new_int_var(0, max(tn * cap * most, self.cap_total * td), f"half{b}_{c}")
                pm.model.add_max_equality(hw, [tn * cap * total, self.cap_total * td])
                pm.extra_hints.append(
                    (hw, functools.partial(self._half_hint, b=b, weight=tn * cap, least=self.cap_total * td))
                )
                half = hw
            diff = self.cap_total * td * _expr(figure[c]) - td * cap * total
            pm.model.add(diff <= half).only_enforce_if(inside)
            pm.model.add(diff >= -half).only_enforce_if(inside)
        self.judges.append(lambda _figs: edges_for(sum(hint().values())))
        self.values.append(hint)

    # ---------------------------------------------------------------- shared

    def _half_hint(self, _loads: dict[int, int], *, b: int, weight: int, least: int) -> int:
        return max(weight * sum(self.pm.hint_figures(b).values()), least)

    def _fixed_band(
        self,
        value: dict[int, cp_model.LinearExprT],
        edges: dict[int, tuple[int, int]],
        judge: Callable[[dict[int, int]], dict[int, tuple[int, int]]],
        current: Callable[[], dict[int, int]],
        *,
        kind: int,
    ) -> None:
        """A band with constant edges: inside, the CSM's figure lies between them (edges included)."""
        self.fixed_rows.append((kind, edges))
        for c in self.caps:
            lo, hi = edges[c]
            inside = self.out[c].Not()
            self.pm.model.add(value[c] <= hi).only_enforce_if(inside)
            self.pm.model.add(value[c] >= lo).only_enforce_if(inside)
        self.judges.append(judge)
        self.values.append(current)

    def outside_now(self) -> set[int]:
        """The CSMs of the plan so far that lie outside some band."""
        out: set[int] = set()
        for judge, current in zip(self.judges, self.values, strict=True):
            figs = current()
            edges = judge(figs)
            out.update(c for c in self.caps if not edges[c][0] <= figs[c] <= edges[c][1])
        return out

    def hint_outside(self) -> int:
        return len(self.outside_now())
