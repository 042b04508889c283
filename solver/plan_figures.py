"""Figures of a plan that the frontier and the comparison of plans read: CSMs out of the hours band, and
the order in which CONTRACT.md's `balance` priorities rank two plans of one book."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from solver import policy as rules
from solver.metrics import account_figure, balance_bands, band_edges
from solver.schema import Book, Plan

# A band edge is inside: utilizations are rounded to 4 decimals in the plan.
BAND_EPSILON = 1e-4
# Metric figures are exact sums of the book's own amounts: only float noise is forgiven.
METRIC_EPSILON = Fraction(1, 1_000_000)


def csms_out_of_band(book: Book, plan: Plan) -> int:
    """CSMs outside any band of their pool: the hours band (the pool's hours over its capacity, plus or
    minus `balance_tolerance`) or a band of `policy.balance_metrics` (the pool's figure per capacity hour
    times the CSM's capacity, plus or minus its tolerance, counts never tighter than ±1). An edge is
    inside; a CSM outside several bands counts once."""
    tolerance = book.policy.balance_tolerance
    pools: dict[str | None, list[tuple[str, float, float]]] = defaultdict(list)
    for load in plan.csm_loads:
        if load.capacity_hours > 0:
            pools[load.pool].append((load.csm, load.hours, load.capacity_hours))
    outside: set[str] = set()
    for loads in pools.values():
        mean = sum(h for _, h, _ in loads) / sum(c for _, _, c in loads)
        outside.update(csm for csm, h, c in loads if abs(h / c - mean) > tolerance + BAND_EPSILON)
        outside.update(_outside_metric_bands(book, plan, loads))
    return len(outside)


def _outside_metric_bands(book: Book, plan: Plan, loads: list[tuple[str, float, float]]) -> set[str]:
    """The pool's CSMs outside a band of `policy.balance_metrics`, judged on the plan's assignments."""
    bands = balance_bands(book)
    if not bands:
        return set()
    today = rules.as_of(book.policy)
    accounts = {a.id: a for a in book.accounts}
    held: dict[str, list[str]] = defaultdict(list)
    for assignment in plan.assignments:
        held[assignment.csm].append(assignment.account)
    cap_total = sum((Fraction(c) for _, _, c in loads), Fraction(0))
    outside: set[str] = set()
    for band in bands:
        figure = {
            csm: sum(
                (Fraction(account_figure(accounts[a], band, book, today)) for a in held[csm]), Fraction(0)
            )
            for csm, _, _ in loads
        }
        total = sum(figure.values(), Fraction(0))
        for csm, _, cap in loads:
            lo, hi = band_edges(band, total, cap_total, Fraction(cap))
            if not lo - METRIC_EPSILON <= figure[csm] <= hi + METRIC_EPSILON:
                outside.add(csm)
    return outside


def rank(book: Book, plan: Plan) -> tuple[float, int, int, float]:
    """Smaller is better, in the priorities' order: ARR served, accounts served, CSMs out of band,
    largest utilization."""
    arr = {a.id: a.arr for a in book.accounts}
    served_arr = sum(arr.get(a.account, 0.0) for a in plan.assignments)
    return (
        -round(served_arr, 2),
        -len(plan.assignments),
        csms_out_of_band(book, plan),
        plan.max_utilization if plan.max_utilization is not None else 0.0,
    )
