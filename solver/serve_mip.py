"""The serve phase's MIP: on tight pools, a plain MIP of the classes (HiGHS through OR-Tools' MathOpt) finds
plans serving more ARR faster than CP-SAT's search, and proves a bound on the ARR that can be served."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import sys
from typing import TYPE_CHECKING

from ortools.math_opt.python import mathopt

from solver.classes import read_counts
from solver.mip_rows import MipRows

if TYPE_CHECKING:
    from collections.abc import Iterator

    from solver.model import PoolModel


MAX_VARIABLES = 20_000

Key = tuple[int, int]  # (class, CSM)


def hard_rules_mip(pm: PoolModel) -> tuple[MipRows, dict[Key, int]] | None:
    """The model's hard rules over class counts (integer variables), with no objective: each account served
    at most once, capacity, ARR cap, book size, and max_moves."""
    classes, problem, state = pm.classes, pm.problem, pm.state
    rows = MipRows()
    z = {key: rows.variable(0, len(classes[key[0]].units), integer=True) for key in pm.y}
    if not z:
        return None
    for k, cl in enumerate(classes):
        rows.row(((z[k, c], 1) for c in cl.csms), ub=len(cl.units))
    for c in pm.csms:
        info, terms = problem.csms[c], pm.by_csm[c]
        if not terms:
            continue  # takes nothing in this model: no row to write
        rows.row(((z[k, c], cl.hours[c]) for k, cl in terms), ub=info.capacity - state.load[c])
        if pm.arr_in_caps and info.arr_cap is not None:
            room = math.floor(info.arr_cap - state.arr[c])
            rows.row(((z[k, c], cl.arr) for k, cl in terms), ub=room)
        if info.max_accounts is not None:
            rows.row(((z[k, c], cl.size) for k, cl in terms), ub=info.max_accounts - state.count[c])
    moving = [(v, pm.moved[key][0]) for key, v in z.items() if pm.moved[key][0]]
    if pm.max_moves is not None and moving:
        rows.row(moving, ub=pm.max_moves)
    return rows, z


def _serve_model(pm: PoolModel) -> tuple[MipRows, dict[Key, int]] | None:
    """The most ARR under the model's hard rules."""
    built = hard_rules_mip(pm)
    if built is not None:
        built[0].set_objective(((v, pm.classes[k].arr) for (k, _), v in built[1].items()), maximize=True)
    return built


def solve_from_hint(
    pm: PoolModel, rows: MipRows, z: dict[Key, int], seconds: float
) -> tuple[mathopt.SolveResult, dict[Key, int] | None]:
    """HiGHS on the model, starting from the plan we have (it then returns nothing worse than it): the result
    and the class counts of its plan (None when it has none)."""
    m, variables = rows.model()
    start = pm.hint_values()
    hint = mathopt.SolutionHint(
        variable_values={variables[v]: float(start.get(key, 0)) for key, v in z.items()}
    )
    with stdout_to_stderr():
        result = mathopt.solve(
            m,
            mathopt.SolverType.HIGHS,
            params=mathopt.SolveParameters(time_limit=dt.timedelta(seconds=seconds)),
            model_params=mathopt.ModelSolveParameters(solution_hints=[hint]),
        )
    if not result.has_primal_feasible_solution():
        return result, None
    values = result.variable_values(variables)
    return result, {key: round(values[v]) for key, v in z.items()}


def serve_by_mip(pm: PoolModel, seconds: float) -> int | None:
    """The serve phase's first objective as a plain MIP of the classes (HiGHS through MathOpt): the most
    ARR under the same hard rules. Adopted as the hint when it serves more ARR; returns a proven upper
    bound on served ARR (HiGHS's, else the LP relaxation's; rounded up past the tolerances), or None."""
    if pm.params.deterministic or not pm.whole_pool or seconds < 0.1:
        return None  # HiGHS has no deterministic clock
    if len(pm.y) > MAX_VARIABLES:
        return None  # HiGHS's presolve and search would not keep to the pool's time
    built = _serve_model(pm)
    if built is None:
        return None
    rows, z = built
    classes = pm.classes
    result, counts = solve_from_hint(pm, rows, z, seconds)
    if counts is not None:
        ours = pm.hint_sum(lambda k, c: classes[k].arr)
        if sum(classes[k].arr * n for (k, _), n in counts.items()) > ours:
            read_counts(classes, pm.y, lambda key: counts[key], pm.hint)
    bound = result.termination.objective_bounds.dual_bound
    if not math.isfinite(bound):
        # HiGHS stopped before its root bound: the LP relaxation (GLOP, fast) bounds the MIP from above.
        lp = mathopt.solve(rows.model(relax=True)[0], mathopt.SolverType.GLOP)
        if lp.termination.reason != mathopt.TerminationReason.OPTIMAL:
            return None
        bound = lp.objective_value()
    return math.ceil(bound + 1e-6 * abs(bound) + 1)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """HiGHS prints some diagnostics straight to file descriptor 1; the CLI's stdout carries the plan JSON,
    so while HiGHS runs, descriptor 1 points at stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
