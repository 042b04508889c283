"""CP-SAT plumbing shared by the pool models: a solver set up the engine's way, and objectives, sums and
domains written straight into the model's proto (CP-SAT's own Python setters go term by term, which costs
seconds per solve on the largest pools)."""

from __future__ import annotations

from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh


def new_solver(workers: int, seed: int) -> cp_model.CpSolver:
    """A CP-SAT solver with the engine's workers and seed, and a light presolve.

    A pool model is solved once per priority phase, and CP-SAT presolves it afresh each time. Two of its
    presolve steps find little in an assignment of account classes and cost most of that presolve: the
    set-inclusion pass (0.25-0.35 s on the rebalance-3k book's mid-market / NA, 350 classes x 12 CSMs) and
    probing (0.07-0.1 s). Without them that pool's three phases fell from 3.7 s to 1.3 s, all proven.
    """
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.presolve_inclusion_work_limit = 0
    solver.parameters.cp_model_probing_level = 0
    return solver


def set_objective(model: cp_model.CpModel, objective: cp_model.LinearExprT, *, maximize: bool) -> None:
    """model.maximize / minimize, written into the proto in two calls: CP-SAT's own setter appends the
    terms one by one (a third of a second for 50,000 terms, once per phase on the largest pools)."""
    if not isinstance(objective, cp_model.LinearExpr) or not objective.is_integer():
        (model.maximize if maximize else model.minimize)(objective)
        return
    model.clear_objective()
    flat = cmh.FlatIntExpr(objective)
    sign = -1 if maximize else 1  # the proto minimises: a maximum is the minimum of the negation
    proto = model.proto.objective
    proto.vars.extend([var.index for var in flat.vars])
    proto.coeffs.extend([sign * c for c in flat.coeffs])
    proto.offset = sign * flat.offset
    proto.scaling_factor = float(sign)


def weighted_sum(variables: list[cp_model.IntVar], coefficients: list[int]) -> cp_model.LinearExpr:
    """Σ coefficient x variable, built in one call (the Python sum of terms is slow for large pools)."""
    return cp_model.LinearExpr.weighted_sum(variables, coefficients)


def set_domain(model: cp_model.CpModel, var: cp_model.IntVar, domain: list[int]) -> None:
    """Replace a variable's domain (intervals [a0, b0, a1, b1, …])."""
    proto = model.proto.variables[var.index]
    proto.domain.clear()
    proto.domain.extend(domain)
