"""The fast ways the engine writes its models (CP-SAT objectives straight into the proto, MIPs as arrays)
must write the same model as the libraries' own slow calls."""

from __future__ import annotations

import itertools
import math

import pytest
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from solver.cpsat import set_objective
from solver.mip_rows import MipRows


def _knapsack() -> tuple[cp_model.CpModel, list[cp_model.IntVar], cp_model.LinearExpr]:
    model = cp_model.CpModel()
    xs = [model.new_int_var(0, 3, f"x{i}") for i in range(4)]
    model.add(cp_model.LinearExpr.weighted_sum(xs, [5, 4, 3, 2]) <= 17)
    return model, xs, cp_model.LinearExpr.weighted_sum(xs, [7, 5, 4, 1]) + 10


@pytest.mark.parametrize("maximize", [True, False])
def test_set_objective_writes_what_cp_sat_writes(maximize: bool) -> None:
    ours, _, objective = _knapsack()
    theirs, _, their_objective = _knapsack()
    set_objective(ours, objective, maximize=maximize)
    (theirs.maximize if maximize else theirs.minimize)(their_objective)
    assert list(ours.proto.objective.vars) == list(theirs.proto.objective.vars)
    assert list(ours.proto.objective.coeffs) == list(theirs.proto.objective.coeffs)
    assert ours.proto.objective.offset == theirs.proto.objective.offset
    assert ours.proto.objective.scaling_factor == theirs.proto.objective.scaling_factor


def test_set_objective_solves_to_the_brute_force_optimum() -> None:
    model, _, objective = _knapsack()
    plans = [
        p for p in itertools.product(range(4), repeat=4) if 5 * p[0] + 4 * p[1] + 3 * p[2] + 2 * p[3] <= 17
    ]
    worth = [7 * p[0] + 5 * p[1] + 4 * p[2] + p[3] + 10 for p in plans]
    solver = cp_model.CpSolver()
    set_objective(model, objective, maximize=True)
    assert solver.solve(model) == cp_model.OPTIMAL
    assert solver.objective_value == max(worth) == 33
    set_objective(model, objective, maximize=False)
    assert solver.solve(model) == cp_model.OPTIMAL
    assert solver.objective_value == min(worth) == 10


def test_mip_rows_model_solves_like_the_expression_model() -> None:
    rows = MipRows()
    a = rows.variable(0, 3, integer=True)
    b = rows.variable(0, 3, integer=True)
    c = rows.variable(0, 1, integer=False)
    rows.row([(a, 5), (b, 4), (a, 0)], ub=17)  # the repeated `a` adds up to 5
    rows.row([(a, 1), (b, 1)], lb=2)
    rows.row([(c, 1), (b, -1)], lb=-math.inf, ub=-1.5)
    rows.set_objective([(a, 7), (b, 5), (c, 100)], maximize=True)
    model, variables = rows.model()
    result = mathopt.solve(model, mathopt.SolverType.HIGHS)
    assert result.termination.reason == mathopt.TerminationReason.OPTIMAL
    # c <= b - 1.5 with c <= 1 makes b >= 2 and c = min(1, b - 1.5); 5a + 4b <= 17: (a=1, b=3): 7+15+100 = 122;
    # (a=0, b=3): 15 + 100; (a=1, b=2): 7 + 10 + 50 = 67.
    assert result.objective_value() == pytest.approx(122)
    values = result.variable_values(variables)
    assert [round(v, 6) for v in values] == [1, 3, 1]
    relaxed = mathopt.solve(rows.model(relax=True)[0], mathopt.SolverType.GLOP)
    # The LP: a = 1, b = 3 is a vertex; a = 17/5 - 4b/5 ... the relaxation can only be as good or better.
    assert relaxed.objective_value() >= 122 - 1e-6
