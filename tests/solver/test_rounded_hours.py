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
