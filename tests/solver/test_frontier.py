"""The moves–balance frontier: every point a valid plan within its budget, never worse than a smaller
budget's, from the fewest moves to the unconstrained plan."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from conftest import build_book

from solver.engine import solve
from solver.frontier import (
    LEAST_MOVES_TOLERANCE,
    FrontierPoint,
    frontier,
    least_moves_point,
    make_monotone,
    with_budget,
)
from solver.plan_figures import csms_out_of_band, rank
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def lopsided_book(accounts: int = 16, leaver_accounts: int = 1, **policy: Any) -> Book:
    """Lee carries every account (80 %), Dana none; Sam leaves and his account must move."""
    return build_book(
        [
            {"id": f"a{i:02d}", "hours_per_year": 50, "current_csm": "c-lee", "arr": 100_000 + i}
            for i in range(accounts)
        ]
        + [{"id": f"s{i}", "hours_per_year": 50, "current_csm": "c-sam"} for i in range(leaver_accounts)],
        [
            {"id": "c-lee", "capacity_hours": 1000},
            {"id": "c-dana", "capacity_hours": 1000},
            {"id": "c-sam", "capacity_hours": 1000, "end_date": "2026-11-01"},
        ],
        **{"time_limit_seconds": 4, "workers": 1, **policy},
    )


def check_curve(book: Book, points: list[FrontierPoint]) -> None:
    """Each point valid under its budget and no worse than the previous (smaller) budget's."""
    for point in points:
        assert_valid_plan(with_budget(book, point.max_moves), point.plan)
        if point.max_moves is not None:
            assert point.moves <= point.max_moves
    for smaller, larger in itertools.pairwise(points):
        assert rank(book, larger.plan) <= rank(book, smaller.plan), (smaller.max_moves, larger.max_moves)


def test_the_frontier_runs_from_the_forced_move_to_the_unconstrained_plan_with_six_points_or_more() -> None:
    book = lopsided_book()
    result = frontier(book, time_limit=8)
    points = result.points
    check_curve(book, points)
    assert len(points) >= 6
    assert points[0].moves == 1, "only the leaver's account must move"
    assert points[-1].max_moves is None
    unconstrained = solve(book)
    assert points[-1].moves == len(unconstrained.moves)
    assert csms_out_of_band(book, points[0].plan) > csms_out_of_band(book, points[-1].plan)
    assert points[-1].plan.max_utilization is not None and points[0].plan.max_utilization is not None
    assert points[-1].plan.max_utilization < points[0].plan.max_utilization
    figures = points[0].figures(book)
    assert set(figures) >= {"max_moves", "moves", "max_utilization", "csms_out_of_band", "fairness"}
    budgets = [p.max_moves for p in points[:-1]]
    assert budgets == sorted(set(budgets))


def test_a_book_that_needs_no_moves_has_one_point() -> None:
    book = build_book(
        [
            {"id": "a1", "hours_per_year": 50, "current_csm": "c-lee"},
            {"id": "a2", "hours_per_year": 50, "current_csm": "c-dana"},
        ],
        [{"id": "c-lee", "capacity_hours": 1000}, {"id": "c-dana", "capacity_hours": 1000}],
    )
    result = frontier(book, time_limit=4)
    assert len(result.points) == 1
    assert result.points[0].moves == 0
    check_curve(book, result.points)


def test_a_frontier_on_an_infeasible_book_answers_with_the_diagnosis() -> None:
    book = Book.model_validate(json.loads((FIXTURES / "infeasible_book.json").read_text()))
    result = frontier(book, time_limit=4)
    assert result.points == []
    assert result.infeasible is not None and result.infeasible.status == "infeasible"
    assert result.infeasible.diagnosis


def test_a_worse_plan_at_a_larger_budget_is_replaced_by_the_smaller_budgets_plan_and_says_so() -> None:
    book = lopsided_book()
    # 7 moves (the leaver's and 6 of Lee's) put both CSMs in the band; fewer buy nothing (moves come
    # before the level), so a budget of 1 gives the forced move alone.
    good = solve(with_budget(book, 7))
    worse = solve(with_budget(book, 1))  # valid under a budget of 8, but less balanced than `good`
    assert rank(book, worse) > rank(book, good)
    points = [FrontierPoint(8, worse), FrontierPoint(7, good)]
    replaced = make_monotone(book, points)
    assert [p.max_moves for p in points] == [7, 8]
    assert points[1].plan.moves == good.moves and points[1].kept_from == 7
    assert replaced == [points[1]]
    assert "was worse" in points[1].plan.warnings[-1]
    check_curve(book, points)


def staircase_book() -> Book:
    """Lee carries 24 accounts of 50 h (80 % of 1,500 h); Dana, Eve and Fay none (1,000 h each). The band
    is 16.7–36.7 %: each of them enters it with 4 accounts, Lee with 13 moved, so every 4 moves one fewer
    CSM is out of band."""
    return build_book(
        [
            {"id": f"a{i:02d}", "hours_per_year": 50, "current_csm": "c-lee", "arr": 100_000 + i}
            for i in range(24)
        ],
        [{"id": "c-lee", "capacity_hours": 1500}]
        + [{"id": f"c-{name}", "capacity_hours": 1000} for name in ("dana", "eve", "fay")],
        time_limit_seconds=4,
        workers=1,
    )


def test_a_solver_that_answers_worse_at_larger_budgets_still_gives_a_monotone_curve() -> None:
    book = staircase_book()

    def contrary(b: Book, *, time_limit: float | None = None, **_: Any) -> Plan:
        """From a budget of 8 up (the top aside) it makes no move, worse than at 4 to 7."""
        budget = b.policy.max_moves
        if budget is not None and budget >= 8 and b.policy.balance_tolerance != 1.0:
            return solve(with_budget(b, 0), time_limit=time_limit)
        return solve(b, time_limit=time_limit)

    result = frontier(book, time_limit=12, solve_function=contrary)
    check_curve(book, result.points)
    kept = [p for p in result.points if p.kept_from is not None]
    assert kept, [p.max_moves for p in result.points]
    assert all(p.max_moves is not None and p.max_moves >= 8 and p.kept_from < 8 for p in kept)  # type: ignore[operator]
    assert any("was worse" in note for note in result.notes)


def test_the_out_of_band_count_takes_the_pools_mean_and_counts_an_edge_as_inside() -> None:
    book = build_book(
        [
            {"id": "a1", "hours_per_year": 700, "current_csm": "c-lee"},
            {"id": "a2", "hours_per_year": 500, "current_csm": "c-dana"},
        ],
        [{"id": "c-lee", "capacity_hours": 1000}, {"id": "c-dana", "capacity_hours": 1000}],
        balance_tolerance=0.1,
    )
    plan = solve(with_budget(book, 0))
    # mean 60 %: Lee at 70 % and Dana at 50 % sit on the band's edges.
    assert csms_out_of_band(book, plan) == 0
    tighter = with_budget(book, 0, balance_tolerance=0.09)
    assert csms_out_of_band(tighter, plan) == 2


def test_the_out_of_band_count_includes_the_bands_of_balance_metrics() -> None:
    # Hours even (both at 50 %), ARR not: $900k against $100k, a pool mean of $500k a CSM. With
    # `arr: 0.5` the band is $250k–$750k: both CSMs outside it, counted once each with the hours band.
    book = build_book(
        [
            {"id": "a1", "hours_per_year": 500, "current_csm": "c-lee", "arr": 900_000},
            {"id": "a2", "hours_per_year": 500, "current_csm": "c-dana", "arr": 100_000},
        ],
        [{"id": "c-lee", "capacity_hours": 1000}, {"id": "c-dana", "capacity_hours": 1000}],
        balance_metrics={"arr": 0.5},
    )
    plan = solve(with_budget(book, 0))
    assert csms_out_of_band(book, plan) == 2
    # At 0.8 the band is $100k–$900k: both sit on an edge, which is inside.
    assert csms_out_of_band(with_budget(book, 0, balance_metrics={"arr": 0.8}), plan) == 0
    # Without balance_metrics only the hours band counts.
    assert csms_out_of_band(with_budget(book, 0, balance_metrics={}), plan) == 0


def test_a_move_budget_gives_up_balancing_moves_before_it_leaves_a_leavers_account_unserved() -> None:
    book = lopsided_book()
    small = book.model_copy(
        update={
            "accounts": [a.model_copy(update={"arr": 5_000}) if a.id == "s0" else a for a in book.accounts]
        }
    )
    for budget in (1, 3):
        plan = solve(with_budget(small, budget))
        assert_valid_plan(with_budget(small, budget), plan)
        assert plan.unassigned == [], (budget, plan.unassigned)
        assert any(m.account == "s0" for m in plan.moves)


def test_trimming_construction_moves_to_a_budget_sends_balancing_moves_home_first() -> None:
    from solver.construct import construct
    from solver.engine import _enforce_max_moves
    from solver.plan_reasons import count_moves as _count_moves
    from solver.prepare import build_problem
    from solver.state import UNASSIGNED, State

    book = lopsided_book()
    small = book.model_copy(
        update={
            "accounts": [a.model_copy(update={"arr": 5_000}) if a.id == "s0" else a for a in book.accounts]
        }
    )
    problem = build_problem(with_budget(small, 2))
    state = State.empty(problem)
    for pool in problem.pools:
        construct(problem, state, pool, band=small.policy.balance_tolerance, min_cost=False)
    assert _count_moves(problem, state) > 2, "construction balances Lee and Dana with several moves"
    _enforce_max_moves(problem, state, 2)
    assert _count_moves(problem, state) <= 2
    assert all(state.assign[u.index] != UNASSIGNED for u in problem.units), "nobody is left unserved"


def test_a_frontier_out_of_time_stops_with_the_points_it_has_and_says_so() -> None:
    book = lopsided_book()
    result = frontier(book, time_limit=0.5)
    assert 2 <= len(result.points) < 6
    assert any("out of time" in note for note in result.notes)
    check_curve(book, result.points)


def test_a_kept_wide_band_plan_is_counted_under_the_books_own_bands() -> None:
    # Planned with the band opened wide, Lee (80 %) and Dana (0 %) are both "in band"; under the book's
    # ±10 points around 40 % both are out. The point keeps that plan (its budget's plan served less), so its
    # fairness figures must be the book's, and it claims no optimality for the book's priorities.
    book = lopsided_book()
    fewest = solve(with_budget(book, 1, balance_tolerance=LEAST_MOVES_TOLERANCE))
    assert [f.after.out_of_band for f in fewest.fairness if f.metric == "hours"] == [0]
    served_less = fewest.model_copy(
        update={"assignments": fewest.assignments[1:], "unassigned": [], "moves": fewest.moves}
    )
    point = least_moves_point(book, 1, served_less, fewest)
    assert point.plan.assignments == fewest.assignments
    assert_valid_plan(with_budget(book, 1), point.plan)
    assert [f.after.out_of_band for f in point.plan.fairness if f.metric == "hours"] == [2]
    assert point.plan.status == "feasible" and {p.status for p in point.plan.pools} == {"feasible"}
