"""Capacity rows in whole steps of the common hours: what lets CP-SAT find a perfect packing.

A pool whose accounts mostly share a few service models has most of its hours in multiples of one step
g (the hours of the most common model, or the greatest common divisor of the two most common). A CSM's
capacity row, `Σ hours · taken ≤ room`, then hides a counting argument: split every class's hours into
whole steps and a remainder (h = g·p + v) and the room likewise (room = g·Q + r). The remainders a CSM
takes, Σ v, may run over r only by spending whole steps of the room:

    Σ v · taken ≤ r + g·e        and        Σ p · taken + e ≤ Q,        e ≥ 0 whole.

Both rows hold for every plan the capacity row allows (take e the least that makes the first hold), and
together they give back the capacity row, so they are a reformulation, not a restriction. What they add is
reach: added up over the CSMs of a pool that must serve everyone, they bound the number of steps the odd
accounts may spend, which CP-SAT's linear relaxation and propagation then see.

The tight 20k bench book's strategic / APAC pool (88 accounts, 99.3 % of 12 CSMs' hours, 48 of 196.8 h and
17 of 246 h): with both steps (19,680 and 4,920 hundredths) CP-SAT finds the plan serving every account in
0.1-0.5 s for 6 seeds of 6; with neither, in 1 seed of 6 within 8 s.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from ortools.sat.python import cp_model

from solver.cpsat import weighted_sum


def common_steps(hours_taken: Iterable[tuple[int, int]]) -> list[int]:
    """The steps worth writing rows for, from (hours, number of units) pairs a CSM may take: the hours of
    the most common model, and the greatest common divisor of the two most common. A step that divides every
    hours value adds nothing CP-SAT does not already see (the row is the capacity row divided through)."""
    counts: Counter[int] = Counter()
    for hours, units in hours_taken:
        if hours > 0:
            counts[hours] += units
    if len(counts) < 2:
        return []
    (first, _), (second, _) = counts.most_common(2)
    everything = math.gcd(*counts)
    steps = []
    for step in (first, math.gcd(first, second)):
        if step > everything and step not in steps:
            steps.append(step)
    return steps


def add_step_rows(
    model: cp_model.CpModel,
    taken: list[cp_model.IntVar],
    hours: list[int],
    room: int,
    steps: list[int],
) -> None:
    """For each step g, the two rows above for one CSM: `taken[i]` units of `hours[i]` each, in `room`."""
    if room < 0:
        return
    for g in steps:
        whole, rest = divmod(room, g)
        spent = model.new_int_var(0, whole, f"steps{g}")
        model.add(weighted_sum([*taken, spent], [*(h % g for h in hours), -g]) <= rest)
        model.add(weighted_sum([*taken, spent], [*(h // g for h in hours), 1]) <= whole)
