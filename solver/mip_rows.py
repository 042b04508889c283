"""A MIP written as arrays and handed to MathOpt in one model proto.

Built term by term through MathOpt's Python expressions, a large pool's MIP (tens of thousands of terms)
takes a second or more before HiGHS starts: the pool's time went to Python objects. Here the variables,
rows and objective are plain lists; `model()` packs them into one `ModelProto`, which MathOpt reads in C++.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ortools.math_opt import model_pb2
from ortools.math_opt.python import mathopt

Terms = Iterable[tuple[int, float]]  # (variable, coefficient)


@dataclass
class MipRows:
    """Variables (by index from 0), rows `lb <= sum(coef * var) <= ub`, and a linear objective."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    row_terms: list[dict[int, float]] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    maximize: bool = False

    def variable(self, lb: float, ub: float, *, integer: bool) -> int:
        self.lower.append(lb)
        self.upper.append(ub)
        self.integer.append(integer)
        return len(self.lower) - 1

    def row(self, terms: Terms, *, lb: float = -math.inf, ub: float = math.inf) -> None:
        """lb <= sum(coefficient * variable) <= ub; a variable named twice has its coefficients added."""
        merged: dict[int, float] = {}
        for var, coef in terms:
            merged[var] = merged.get(var, 0.0) + coef
        self.row_lower.append(lb)
        self.row_upper.append(ub)
        self.row_terms.append(merged)

    def set_objective(self, terms: Terms, *, maximize: bool) -> None:
        self.objective = {}
        for var, coef in terms:
            self.objective[var] = self.objective.get(var, 0.0) + coef
        self.maximize = maximize

    def model(self, *, relax: bool = False) -> tuple[mathopt.Model, list[mathopt.Variable]]:
        """The MathOpt model (the LP relaxation when `relax`) and its variables, in index order."""
        proto = model_pb2.ModelProto(name="pool")
        n = len(self.lower)
        proto.variables.ids.extend(range(n))
        proto.variables.lower_bounds.extend(self.lower)
        proto.variables.upper_bounds.extend(self.upper)
        proto.variables.integers.extend([False] * n if relax else self.integer)
        proto.linear_constraints.ids.extend(range(len(self.row_terms)))
        proto.linear_constraints.lower_bounds.extend(self.row_lower)
        proto.linear_constraints.upper_bounds.extend(self.row_upper)
        rows: list[int] = []
        cols: list[int] = []
        coefs: list[float] = []
        for r, terms in enumerate(self.row_terms):
            for var in sorted(terms):
                if terms[var] != 0:
                    rows.append(r)
                    cols.append(var)
                    coefs.append(terms[var])
        matrix = proto.linear_constraint_matrix
        matrix.row_ids.extend(rows)
        matrix.column_ids.extend(cols)
        matrix.coefficients.extend(coefs)
        proto.objective.maximize = self.maximize
        objective = sorted((var, coef) for var, coef in self.objective.items() if coef != 0)
        proto.objective.linear_coefficients.ids.extend(var for var, _ in objective)
        proto.objective.linear_coefficients.values.extend(coef for _, coef in objective)
        m = mathopt.Model.from_model_proto(proto)
        return m, [m.get_variable(i) for i in range(n)]
