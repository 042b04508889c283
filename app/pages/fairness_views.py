"""Fairness for the pages: the ARR-per-CSM chart with its band (plan review) and the fairness table
(book page, plan review). Pure functions of their inputs (no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solver.fairness import plan_fairness
from solver.prepare import build_problem
from solver.schema import Book, Fairness, FairnessFigures, Plan
from solver.state import State

METRIC_LABELS = {
    "hours": "Utilization",
    "arr": "ARR per capacity hour",
    "accounts": "Accounts per 1,000 h",
    "red_accounts": "Red accounts per 1,000 h",
}


def metric_label(metric: str) -> str:
    if metric.startswith("renewals_q"):
        return f"Renewals in quarter {metric[-1]} per 1,000 h"
    return METRIC_LABELS.get(metric, metric)


def _shown(metric: str, value: float) -> str:
    if metric == "hours":
        return f"{value * 100:.1f}%"
    if metric == "arr":
        return f"${value:,.0f}/h"
    return f"{value * 1000:.2f}"


def fairness_rows(
    entries: list[tuple[str, str, FairnessFigures | None, FairnessFigures | None]],
) -> list[dict[str, Any]]:
    """One table row per pool and figure: before and after side by side (either may be absent)."""
    rows = []
    for pool, metric, before, after in entries:
        row: dict[str, Any] = {"pool": pool, "metric": metric, "label": metric_label(metric)}
        for when, f in (("before", before), ("after", after)):
            row[when] = (
                None
                if f is None
                else {
                    "range": f"{_shown(metric, f.min)} – {_shown(metric, f.max)}",
                    "mean": _shown(metric, f.mean),
                    "cv": f"{f.cv:.2f}",
                    "gini": f"{f.gini:.2f}",
                    "out": f.out_of_band,
                }
            )
        rows.append(row)
    return rows


def plan_fairness_rows(plan: Plan) -> list[dict[str, Any]]:
    return fairness_rows([(f.pool, f.metric, f.before, f.after) for f in plan.fairness])


def book_fairness_rows(book: Book) -> list[dict[str, Any]]:
    """The stored book as it stands, per pool and figure (the `before` of a plan made now)."""
    problem = build_problem(book)
    if problem.diagnosis:
        return []
    entries: list[Fairness] = plan_fairness(problem, State.empty(problem))
    return fairness_rows([(f.pool, f.metric, None, f.before) for f in entries if f.before is not None])


@dataclass
class ArrBar:
    label: str
    href: str
    before: float  # widths, % of the scale
    after: float
    band: tuple[float, float] | None  # the CSM's ARR band (low, high), % of the scale
    text: str
    outside: bool


@dataclass
class ArrChart:
    bars: list[ArrBar]
    ticks: list[tuple[float, str]]
    banded: bool  # the band comes from balance_metrics.arr; else the line is the fair share


def _money(x: float) -> str:
    return f"${x / 1e6:.2f}M" if x >= 1e6 else f"${x / 1e3:,.0f}k"


def arr_chart(plan: Plan, book: Book) -> ArrChart:
    """ARR per CSM before and after, with each CSM's band: their capacity's share of the pool's ARR ± tol."""
    tol = book.policy.balance_metrics.get("arr")
    names = {c.id: c.name or c.id for c in book.csms}
    before: dict[str, float] = {}
    for a in book.accounts:
        if a.current_csm is not None:
            before[a.current_csm] = before.get(a.current_csm, 0.0) + a.arr
    pool_of = {c: p for p in plan.pools for c in p.csms}
    totals: dict[str, tuple[float, float]] = {}
    for ld in plan.csm_loads:
        key = pool_of.get(ld.csm)
        if key is not None:
            arr, cap = totals.get(key.pool, (0.0, 0.0))
            totals[key.pool] = (arr + ld.arr, cap + ld.capacity_hours)
    rows = []
    for ld in plan.csm_loads:
        if ld.capacity_hours <= 0 or ld.csm not in pool_of:
            continue
        arr, cap = totals[pool_of[ld.csm].pool]
        share = arr * ld.capacity_hours / cap if cap else 0.0
        width = (tol if tol is not None else 0.0) * share
        rows.append((ld, before.get(ld.csm, 0.0), share - width, share + width))
    top = max([max(r[0].arr, r[1], r[3]) for r in rows] + [1.0]) * 1.05
    step = 10 ** (len(f"{int(top)}") - 1)
    while top / step < 3:
        step /= 2
    ticks = [(round(k * step / top * 100, 2), _money(k * step)) for k in range(int(top // step) + 1)]
    pct = lambda x: round(max(0.0, min(x, top)) / top * 100, 2)  # noqa: E731
    bars = [
        ArrBar(
            label=names.get(ld.csm, ld.csm),
            href=f"/csms/{ld.csm}",
            before=pct(b),
            after=pct(ld.arr),
            band=(pct(lo), pct(hi)),
            text=f"{_money(b)} → {_money(ld.arr)} (band {_money(lo)}–{_money(hi)})"
            if tol is not None
            else f"{_money(b)} → {_money(ld.arr)} (fair share {_money(lo)})",
            outside=tol is not None and not lo - 0.5 <= ld.arr <= hi + 0.5,
        )
        for ld, b, lo, hi in rows
    ]
    return ArrChart(bars, ticks, tol is not None)
