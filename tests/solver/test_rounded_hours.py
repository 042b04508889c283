"""Hours finer than a hundredth: the model counts hours in hundredths, each account's rounded up and each
CSM's capacity rounded down, so its plans keep every rule of the book. What it proves is about the rounded
hours, so such a pool is never claimed optimal and its bounds are the book's relaxations, not the model's:
the servable-ARR bound takes the rounding back, and the utilization bound is lowered by it."""

from __future__ import annotations

from conftest import MakeBook

from solver.engine import solve
from solver.validation import assert_valid_plan


def test_an_account_that_fits_only_in_unrounded_hours_leaves_the_pool_unproven_with_its_arr_in_the_bound(
    make_book: MakeBook,
) -> None:
    # 99.999 h into 99.999 h fits; the model sees 100.00 h into 99.99 h.
    book = make_book(
        [{"id": "a", "arr": 1000, "hours_per_year": 99.999}], [{"id": "c", "capacity_hours": 99.999}]
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (pool,) = plan.pools
    assert pool.status == "feasible" and plan.status == "feasible"
    assert pool.served_arr_bound is not None and pool.served_arr_bound >= 1000


def test_two_accounts_filling_a_csm_to_the_thousandth_keep_both_in_the_bound(make_book: MakeBook) -> None:
    book = make_book(
        [
            {"id": "a", "arr": 1000, "hours_per_year": 50.001},
            {"id": "b", "arr": 1000, "hours_per_year": 49.999},
        ],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (pool,) = plan.pools
    assert pool.status == "feasible"
    assert pool.served_arr_bound is not None and pool.served_arr_bound >= 2000
    # The utilization bound is never above what the best plan (both accounts: 100 %) reaches.
    assert pool.max_utilization_bound <= 1.0


def test_hours_in_hundredths_are_counted_exactly_and_proven(make_book: MakeBook) -> None:
    book = make_book(
        [
            {"id": "a", "arr": 1000, "hours_per_year": 50.01},
            {"id": "b", "arr": 1000, "hours_per_year": 49.99},
        ],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status == "optimal" and len(plan.assignments) == 2
    assert plan.pools[0].served_arr_bound == 2000


def test_three_thirds_of_a_csm_are_all_in_the_servable_arr_bound(make_book: MakeBook) -> None:
    # 3 x 33.333 h = 99.999 h fits 100 h; rounded up, 3 x 33.34 h does not.
    book = make_book(
        [{"id": f"a{i}", "arr": 1000, "hours_per_year": 33.333} for i in range(3)],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (pool,) = plan.pools
    assert pool.status == "feasible"
    assert pool.served_arr_bound is not None and pool.served_arr_bound >= 3000


def test_the_utilization_bound_stays_below_the_book_utilization_that_rounding_raised(
    make_book: MakeBook,
) -> None:
    # 60.004 h of 100 h is 60.004 %; the model counts 60.01 h, and a bound proven on that would be 60.01 %.
    book = make_book(
        [{"id": "a", "arr": 1000, "hours_per_year": 60.004}], [{"id": "c", "capacity_hours": 100}]
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (pool,) = plan.pools
    assert pool.max_utilization_bound <= 0.60004


def test_with_the_hours_band_the_utilization_bound_stays_below_a_plan_only_the_books_hours_allow(
    make_book: MakeBook,
) -> None:
    # 34.5 | 20.5 + 27.5 | 16.493 + 17 + 14.507 h on three 100 h CSMs: 34.5 %, 48 %, 48 %, everyone inside
    # the ±9 point band (34.5 % on its low edge), a level of 48 %. On rounded hours the last CSM has 48.01 h
    # and the first falls out of the band, so the model's own best is higher.
    hours = [34.5, 20.5, 16.493, 17.0, 14.507, 27.5]
    book = make_book(
        [{"id": f"a{i}", "hours_per_year": h} for i, h in enumerate(hours)],
        [{"id": f"c{k}", "capacity_hours": 100} for k in range(3)],
        balance_tolerance=0.09,
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status == "feasible"
    assert plan.pools[0].max_utilization_bound <= 0.48


def test_no_moves_bound_is_claimed_from_rounded_hours(make_book: MakeBook) -> None:
    # Both accounts fit their CSM (100.000 h of 100 h); rounded up they do not, and one moves.
    book = make_book(
        [
            {"id": "a", "arr": 1000, "hours_per_year": 50.001, "current_csm": "c0"},
            {"id": "b", "arr": 1000, "hours_per_year": 49.999, "current_csm": "c0"},
        ],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}],
        balance_tolerance=1.0,
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (pool,) = plan.pools
    assert pool.status == "feasible"
    assert pool.moves_bound is None or pool.moves_bound == 0


def test_min_cost_on_rounded_hours_claims_no_optimum_and_bounds_the_cost_by_zero(make_book: MakeBook) -> None:
    # Both accounts fit c0 at no cost (100.000 h); rounded up one of them must go to c1 at cost 10.
    book = make_book(
        [
            {"id": "a", "arr": 1000, "hours_per_year": 50.001},
            {"id": "b", "arr": 1000, "hours_per_year": 49.999},
        ],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}],
        [{"account": "a", "csm": "c1", "cost": 10}, {"account": "b", "csm": "c1", "cost": 10}],
        objective="min_cost",
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status == "feasible"
    assert plan.cost_bound is not None and plan.cost_bound <= 0


def test_csm_loads_count_the_books_own_hours_not_the_rounded_ones(make_book: MakeBook) -> None:
    # A red account at 1.15 x 2.5 h needs 2.875 h; the model counts 2.88 h. 100 of them are 287.5 h.
    book = make_book(
        [
            {"id": f"a{i}", "tier": "smb", "arr": 5000, "hours_per_year": 2.5, "health": "red"}
            for i in range(100)
        ],
        [{"id": "c", "tiers": ["smb"], "capacity_hours": 300}],
        health_hours={"red": 1.15},
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (load,) = plan.csm_loads
    assert load.hours == 287.5 and load.utilization == round(287.5 / 300, 4)
    assert plan.max_utilization == round(287.5 / 300, 4) == plan.pools[0].max_utilization
    assert plan.pools[0].demand_hours == 287.5
    hours = next(f for f in plan.fairness if f.metric == "hours")
    assert hours.after.max == round(287.5 / 300, 6)


def test_pinned_accounts_filling_a_csm_to_the_thousandth_leave_the_room_the_book_leaves(
    make_book: MakeBook,
) -> None:
    # 2 x 49.995 h pinned to a 100 h CSM leave 0.01 h; rounded up to 50.00 h each they would leave none.
    book = make_book(
        [
            *(
                {"id": f"p{i}", "hours_per_year": 49.995, "current_csm": "c", "pinned": True}
                for i in range(2)
            ),
            {"id": "free", "hours_per_year": 0.01},
        ],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status != "infeasible" and not plan.unassigned
    assert plan.csm_loads[0].capacity_hours == 100 and plan.csm_loads[0].hours == 100


def test_pinned_accounts_filling_a_csm_to_the_thousandth_are_not_diagnosed_as_an_overload(
    make_book: MakeBook,
) -> None:
    # 3 x 33.333 h = 99.999 h of 100 h; rounded up, 100.02 h.
    book = make_book(
        [{"id": f"p{i}", "hours_per_year": 33.333, "current_csm": "c", "pinned": True} for i in range(3)],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.status != "infeasible" and not plan.diagnosis and len(plan.assignments) == 3


def test_utilization_is_over_the_books_capacity_not_the_rounded_one(make_book: MakeBook) -> None:
    # 1.513 h pinned to a 1.513 h CSM is 100 %; over 1.51 h (the model's capacity) it would be 100.2 %.
    book = make_book(
        [{"id": "a", "hours_per_year": 1.513, "current_csm": "c", "pinned": True}],
        [{"id": "c", "capacity_hours": 1.513}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.csm_loads[0].utilization == 1.0 and plan.max_utilization == 1.0


def test_a_bound_proven_on_the_rounded_capacity_is_not_shown_above_the_books_utilization(
    make_book: MakeBook,
) -> None:
    # 8.61 h of 58.616 h is 0.146888; over 58.61 h (the model's) it is 0.146903, shown as 0.1469.
    book = make_book([{"id": "a", "hours_per_year": 8.61}], [{"id": "c", "capacity_hours": 58.616}])
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.max_utilization_bound is not None and plan.max_utilization_bound <= 8.61 / 58.616
    assert plan.pools[0].max_utilization_bound <= 8.61 / 58.616


def test_a_parents_hours_are_rounded_once_on_the_sum(make_book: MakeBook) -> None:
    # 3 x 33.333 h under one parent = 99.999 h: one 100 h CSM serves the parent whole.
    book = make_book(
        [{"id": f"p{i}", "hours_per_year": 33.333, "parent_id": "P"} for i in range(3)],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert len(plan.assignments) == 3 and not plan.unassigned


def test_an_overload_by_pins_is_told_in_the_books_hours(make_book: MakeBook) -> None:
    # 10 x 0.001 h + 100 h pinned to a 100 h CSM: 100.01 h, 0.01 h over.
    book = make_book(
        [
            *(
                {"id": f"t{i}", "hours_per_year": 0.001, "current_csm": "c", "pinned": True}
                for i in range(10)
            ),
            {"id": "big", "hours_per_year": 100, "current_csm": "c", "pinned": True},
        ],
        [{"id": "c", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert plan.status == "infeasible"
    (d,) = plan.diagnosis
    assert d.message == "pinned accounts give c 100.01 h of 100 h"
    assert d.relaxation == "unpin 1 account or raise capacity by 0.01 h" and d.excess == 0.01


def test_a_move_off_a_csm_over_capacity_by_the_thousandth_says_so(make_book: MakeBook) -> None:
    # c holds 3 x 33.333 h pinned and f (0.005 h): 100.004 h of 100 h. f moves because c is over capacity.
    book = make_book(
        [
            *(
                {"id": f"p{i}", "hours_per_year": 33.333, "current_csm": "c", "pinned": True}
                for i in range(3)
            ),
            {"id": "f", "hours_per_year": 0.005, "current_csm": "c"},
        ],
        [{"id": "c", "capacity_hours": 100}, {"id": "d", "capacity_hours": 100}],
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    (move,) = plan.moves
    assert move.account == "f" and move.reason == "c over capacity (100.004 h of 100 h)"


def test_a_level_bound_proven_over_rounded_capacities_is_lowered_to_the_books_capacities(
    make_book: MakeBook,
) -> None:
    # Two 8.61 h accounts, two 58.616 h CSMs: the best plan is one each, 8.61 / 58.616 = 0.146888. The model
    # (capacity 58.61 h) proves 8.61 / 58.61 = 0.146903. A plan with both on c0 must not show that bound.
    from solver.model import SubResult
    from solver.plan_assembly import assemble_plan
    from solver.prepare import build_problem
    from solver.schema import SolverInfo
    from solver.state import State

    book = make_book(
        [{"id": "a", "hours_per_year": 8.61}, {"id": "b", "hours_per_year": 8.61}],
        [{"id": "c0", "capacity_hours": 58.616}, {"id": "c1", "capacity_hours": 58.616}],
    )
    problem = build_problem(book)
    state = State.empty(problem)
    for u in problem.units:
        state.place(u, 0)
    (pool,) = problem.pools
    results = {pool.index: (SubResult(proven=False, level_bound=861 / 5861), "test")}
    info = SolverInfo(version="test", seconds=0.0, seed=0, input_sha256="0" * 64)
    plan = assemble_plan(problem, state, results, info)
    assert plan.max_utilization_bound is not None and plan.max_utilization_bound <= 8.61 / 58.616
    assert plan.pools[0].max_utilization_bound <= 8.61 / 58.616
