"""Fixtures for the solver tests: small hand-made books on a fixed date, and a solve that always re-checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from solver.model import Params, PoolModel
from solver.problem import Problem
from solver.schema import Book, Plan
from solver.state import State
from solver.validation import assert_valid_plan

# Every hand-made book is planned on this date, so freezes, ramps and departures never depend on today.
AS_OF = "2026-11-22"

MakeBook = Callable[..., Book]
SolveBook = Callable[[Book], Plan]


def build_book(
    accounts: Iterable[dict[str, Any]],
    csms: Iterable[dict[str, Any]],
    pairs: Iterable[dict[str, Any]] = (),
    **policy: Any,
) -> Book:
    """A Book from terse dicts: accounts default to enterprise with 100k ARR, CSMs to enterprise only."""
    return Book.model_validate(
        {
            "accounts": [{"arr": 100_000, "tier": "enterprise", **a} for a in accounts],
            "csms": [{"tiers": ["enterprise"], **c} for c in csms],
            "pairs": list(pairs),
            "policy": {"as_of": AS_OF, "time_limit_seconds": 5, **policy},
        }
    )


@pytest.fixture
def make_book() -> MakeBook:
    return build_book


@pytest.fixture
def solve_book() -> SolveBook:
    """Solve with the engine and fail the test on any violation the solver-free validator finds."""
    from solver.engine import solve

    def run(book: Book) -> Plan:
        plan = solve(book)
        assert_valid_plan(book, plan)
        return plan

    return run


def assignment_of(plan: Plan) -> dict[str, str]:
    return {a.account: a.csm for a in plan.assignments}


@pytest.fixture
def assigned() -> Callable[[Plan], dict[str, str]]:
    """account id -> CSM id of a plan's assignments."""
    return assignment_of


def single_pool_model(
    problem: Problem, state: State, *, deterministic: bool, whole_pool: bool = True
) -> PoolModel:
    """The pool model of a one-pool book (10 s, one worker), from the plan `state` holds."""
    (pool,) = problem.pools
    return PoolModel(
        problem,
        state,
        pool.csms,
        pool.units,
        min_cost=False,
        max_moves=None,
        time_limit=10.0,
        params=Params(workers=1, seed=0, deterministic=deterministic),
        whole_pool=whole_pool,
    )
