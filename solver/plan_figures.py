"""Figures of a plan that the frontier and the comparison of plans read: CSMs out of the hours band, and
the order in which CONTRACT.md's `balance` priorities rank two plans of one book."""

from __future__ import annotations

from collections import defaultdict

from solver.schema import Book, Plan

# A band edge is inside: utilizations are rounded to 4 decimals in the plan.
BAND_EPSILON = 1e-4


def csms_out_of_band(book: Book, plan: Plan) -> int:
    """CSMs whose utilization lies outside their pool's band: the pool's hours over its capacity, plus or
    minus `balance_tolerance` (an edge is inside)."""
    tolerance = book.policy.balance_tolerance
    pools: dict[str | None, list[tuple[float, float]]] = defaultdict(list)
    for load in plan.csm_loads:
        if load.capacity_hours > 0:
            pools[load.pool].append((load.hours, load.capacity_hours))
    out = 0
    for loads in pools.values():
        mean = sum(h for h, _ in loads) / sum(c for _, c in loads)
        out += sum(1 for h, c in loads if abs(h / c - mean) > tolerance + BAND_EPSILON)
    return out


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
