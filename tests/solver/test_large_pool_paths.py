"""The paths the engine takes only on very large pools, run on small books by lowering their thresholds:
large-neighbourhood search for balance, and min_cost's fallback when the LP cannot be built. Every plan is
re-checked by the solver-free validator; hand-worked books give the figures to expect.
"""

from __future__ import annotations

from typing import Any

import pytest

import solver.engine
import solver.mincost
import solver.neighbourhood
import solver.pool_improve
from solver.engine import solve
from solver.schema import Book
from solver.validation import assert_valid_plan

AS_OF = "2026-11-22"


def crowded_book(csms: int, accounts: int, **policy: Any) -> Book:
    """Every account with c0, 95 to 104 h (so no two tens are alike); every CSM gives 1,000 h."""
    return Book.model_validate(
        {
            "accounts": [
                {
                    "id": f"a{i:02}",
                    "arr": 100_000,
                    "tier": "enterprise",
                    "hours_per_year": 95 + i % 10,
                    "current_csm": "c0",
                }
                for i in range(accounts)
            ],
            "csms": [{"id": f"c{k}", "tiers": ["enterprise"], "capacity_hours": 1000} for k in range(csms)],
            "policy": {"as_of": AS_OF, "time_limit_seconds": 3, "seed": 3, **policy},
        }
    )


@pytest.fixture
def every_pool_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool of more than 40 assignment variables counts as too large for one model; LNS takes 3 CSMs."""
    # engine, pool_improve and mincost each import the threshold; the neighbourhood size is read where it
    # is defined.
    monkeypatch.setattr(solver.engine, "FULL_MODEL_VARIABLES", 40)
    monkeypatch.setattr(solver.pool_improve, "FULL_MODEL_VARIABLES", 40)
    monkeypatch.setattr(solver.mincost, "FULL_MODEL_VARIABLES", 40)
    monkeypatch.setattr(solver.neighbourhood, "LNS_VARIABLES", 30)


def test_a_large_balance_pool_is_planned_by_neighbourhood_search_and_the_plan_is_valid(
    every_pool_is_large: None,
) -> None:
    # 60 accounts, 5,970 h over 8 CSMs of 1,000 h (a mean of 0.746); c0 starts with all of them (5.97).
    book = crowded_book(csms=8, accounts=60)
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert "LNS" in plan.pools[0].method
    assert plan.unassigned == []
    assert plan.max_utilization is not None and 0.746 <= plan.max_utilization <= 1.0


def test_the_large_pool_path_gives_the_same_plan_twice_in_deterministic_mode(
    every_pool_is_large: None,
) -> None:
    book = crowded_book(csms=5, accounts=20, deterministic=True, time_limit_seconds=1)
    first, second = solve(book), solve(book)
    assert_valid_plan(book, first)
    assert "LNS" in first.pools[0].method
    assert first.assignments == second.assignments and first.moves == second.moves


def cost_book(**policy: Any) -> Book:
    """Three accounts, two CSMs of 250 h (two accounts each at most); costs by hand.

    a0 costs 1 with c0, 5 with c1; a1 costs 4 with c0, 1 with c1; a2 costs 3 with c0, 2 with c1.
    Serving all three puts two with one CSM: {a0, a2}→c0 + a1→c1 = 1 + 3 + 1 = 5;
    a0→c0 + {a1, a2}→c1 = 1 + 1 + 2 = 4, the least.
    """
    costs = {
        ("a0", "c0"): 1,
        ("a0", "c1"): 5,
        ("a1", "c0"): 4,
        ("a1", "c1"): 1,
        ("a2", "c0"): 3,
        ("a2", "c1"): 2,
    }
    return Book.model_validate(
        {
            "accounts": [
                {"id": a, "arr": 100_000, "tier": "enterprise", "hours_per_year": 120}
                for a in ("a0", "a1", "a2")
            ],
            "csms": [{"id": c, "tiers": ["enterprise"], "capacity_hours": 250} for c in ("c0", "c1")],
            "pairs": [{"account": a, "csm": c, "cost": cost} for (a, c), cost in costs.items()],
            "policy": {"as_of": AS_OF, "objective": "min_cost", "time_limit_seconds": 5, **policy},
        }
    )


def test_min_cost_falls_back_to_cp_sat_when_the_lp_cannot_be_built_and_still_finds_the_least_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def no_lp(*args: Any) -> None:
        calls.append("gap")
        return None

    monkeypatch.setattr(solver.mincost, "build_gap", no_lp)
    book = cost_book()
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert calls, "the LP builder was not consulted"
    assert plan.pools[0].method.startswith("cp-sat (whole pool")
    assert {a.account: a.csm for a in plan.assignments} == {"a0": "c0", "a1": "c1", "a2": "c1"}
    assert plan.total_cost == 4
    assert plan.status == "optimal" and plan.cost_bound == 4


def test_min_cost_fallback_on_a_large_pool_uses_neighbourhood_search_and_never_raises_the_cost(
    monkeypatch: pytest.MonkeyPatch, every_pool_is_large: None
) -> None:
    monkeypatch.setattr(solver.mincost, "build_gap", lambda *args: None)
    book = crowded_book(csms=6, accounts=30, objective="min_cost")
    pairs = [
        {"account": f"a{i:02}", "csm": f"c{k}", "cost": (i * 7 + k * 3) % 5}
        for i in range(30)
        for k in range(6)
    ]
    book = Book.model_validate({**book.model_dump(mode="json", exclude_unset=True), "pairs": pairs})
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert "lns" in plan.pools[0].method
    assert plan.unassigned == []
    # Every account has a pairing of cost 0 (i·7 + k·3 ≡ 0 mod 5 has a k for each i) and room is ample
    # (about 3,000 h over 6,000 h), and capacity lets every account take its zero: the least cost is 0.
    assert plan.total_cost == 0


def test_a_tiny_time_limit_still_gives_a_valid_plan_never_no_solution_in_time() -> None:
    """The engine builds a complete plan (unserved accounts allowed) before it spends any time limit, so a
    solvable book always gets a plan: `no_solution_in_time` is reserved for a plan that does not exist."""
    book = crowded_book(csms=8, accounts=60, time_limit_seconds=0.01)
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status in ("optimal", "feasible")
    assert len(plan.assignments) + len(plan.unassigned) == 60
