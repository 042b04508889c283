"""Interchangeable units grouped into classes, so the pool model decides counts, not single accounts.

Units with the same hours, the same eligible CSMs, the same home CSM, no pair overrides and the same
figures of `policy.balance_metrics` form a class; the model decides how many of a class each CSM takes.
ARR splits classes only when it matters (an ARR cap that can bind, ARR served, ARR moved or an ARR band):
then one class per ARR value (exact) or per 5 % ARR bucket priced at its upper edge (conservative).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ortools.sat.python import cp_model

from solver.problem import Problem, Unit
from solver.state import UNASSIGNED, State, home_csm


@dataclass
class ModelClass:
    units: list[Unit]
    csms: list[int]
    hours: dict[int, int]
    arr: int  # ARR used in the model (the class maximum, rounded up)
    size: int  # accounts per unit
    home: int | None
    cost: dict[int, float]
    soft: dict[int, int]
    figures: tuple[int, ...] = ()  # per band: what one unit of the class adds


def make_classes(problem: Problem, units: list[Unit], csm_set: set[int], arr_split: str) -> list[ModelClass]:
    """The classes of `units` over `csm_set`; `arr_split` is "none", "exact", or "bucket" (5 %)."""
    groups: dict[tuple[tuple[int, ...], int, int | None, int, tuple[int, ...]], list[Unit]] = {}
    singles: list[ModelClass] = []
    restricted: dict[int, tuple[int, ...]] = {}
    counted = [b.metric != "arr" for b in problem.bands]
    for u in units:
        elig = restricted.get(id(u.eligible))
        if elig is None:
            elig = restricted[id(u.eligible)] = tuple(c for c in u.eligible if c in csm_set)
        if not elig:
            continue
        home = home_csm(problem, u)
        if u.size > 1 or u.hours_by_csm or u.cost_by_csm or u.soft_by_csm:
            singles.append(
                ModelClass(
                    units=[u],
                    csms=list(elig),
                    hours={c: u.hours_for(c) for c in elig},
                    arr=math.ceil(u.arr),
                    size=u.size,
                    home=home,
                    cost={c: u.cost_by_csm.get(c, 0.0) for c in elig},
                    soft={c: u.soft_by_csm.get(c, 0) for c in elig},
                    figures=u.figures,
                )
            )
            continue
        if arr_split == "none":
            arr_key = 0
        elif arr_split == "exact":
            arr_key = math.ceil(u.arr)
        else:
            arr_key = math.ceil(math.log(u.arr + 1.0, 1.05))
        # ARR figures are the class's `arr` (split above when it matters); the other figures split classes.
        figures = tuple(f for f, keep in zip(u.figures, counted, strict=False) if keep)
        groups.setdefault((elig, u.hours, home, arr_key, figures), []).append(u)
    out = []
    for (elig, hours, home, _, _), members in groups.items():
        out.append(
            ModelClass(
                units=members,
                csms=list(elig),
                hours=dict.fromkeys(elig, hours),
                arr=math.ceil(max(u.arr for u in members)),
                size=1,
                home=home,
                cost={},
                soft={},
                figures=members[0].figures,
            )
        )
    return out + singles


def moved_by(problem: Problem, cl: ModelClass, c: int) -> tuple[int, int]:
    """Accounts moved, and their ARR (whole, rounded up), when one unit of the class goes to CSM c."""
    if cl.size == 1:
        return (1, cl.arr) if cl.home is not None and c != cl.home else (0, 0)
    u, csm_id = cl.units[0], problem.csms[c].id
    moving = [i for i, cur in zip(u.accounts, u.current, strict=True) if cur is not None and cur != csm_id]
    return len(moving), math.ceil(sum(problem.account(i).arr for i in moving) - 1e-9)


def arr_cap_can_bind(problem: Problem, state: State, units: list[Unit], csms: list[int]) -> bool:
    """Can any CSM's ARR cap bind? (If not, caps need no ARR in the model.)"""
    arrs = sorted((u.arr for u in units), reverse=True)
    # The fewest hours any unit takes on any CSM (pair overrides included): more units fit, so more ARR.
    # A unit of 0 hours leaves the hours no say in how many more fit.
    min_hours = min(
        (h if (h := u.least_hours(u.eligible)) is not None else u.hours for u in units), default=1
    )
    prefix = [0.0]
    for a in arrs:
        prefix.append(prefix[-1] + a)
    for c in csms:
        info = problem.csms[c]
        if info.arr_cap is None:
            continue
        k = len(arrs)
        if min_hours > 0:
            k = min(k, max(0, (info.capacity - state.load[c]) // min_hours))
        if info.max_accounts is not None:
            k = min(k, max(0, info.max_accounts - state.count[c]))
        if state.arr[c] + prefix[k] > info.arr_cap + 1e-6:
            return True
    return False


def as_expr(x: cp_model.LinearExprT) -> cp_model.LinearExpr:
    """A load or figure, typed as a linear expression for the type checker (a number works the same)."""
    return cast(cp_model.LinearExpr, x)


def read_counts(
    classes: list[ModelClass],
    y: dict[tuple[int, int], cp_model.IntVar],
    value: Callable[[tuple[int, int]], int],
    hint: dict[int, int],
) -> None:
    """Turn class counts back into units: the home CSM keeps its largest-ARR accounts, the next largest
    move, and the smallest ARR are the ones left unserved."""
    for k, cl in enumerate(classes):
        counts = {c: int(value((k, c))) for c in cl.csms}
        ordered = sorted(cl.units, key=lambda u: -u.arr)
        if cl.home is not None and counts.get(cl.home, 0):
            stay = counts.pop(cl.home)
            for u in ordered[:stay]:
                hint[u.index] = cl.home
            ordered = ordered[stay:]
        i = 0
        for c in sorted(counts):
            for _ in range(counts[c]):
                hint[ordered[i].index] = c
                i += 1
        for u in ordered[i:]:
            hint[u.index] = UNASSIGNED
