"""Tight pools: the books filled one at a time (solver/serve_fill.py). Each book's choice is checked against
brute force over every subset of the accounts, stated from the book itself (hours, book size, ARR cap; a
parent's accounts together; most ARR, then most accounts, then fewest moves)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from conftest import build_book
from test_serve_knapsack import check_books
from test_serve_repack import first_fit, random_tight_book, served

import solver.pool_improve as pool_improve
import solver.serve_fill as serve_fill
from solver.model import Params
from solver.prepare import build_problem
from solver.problem import Problem
from solver.serve_fill import fill_book, serve_more_by_filling
from solver.serve_knapsack import book_room
from solver.state import UNASSIGNED, State


def best_book_by_brute_force(accounts: list[dict[str, Any]], csm: dict[str, Any]) -> tuple[float, int, int]:
    """The most ARR, then accounts, then fewest accounts moving from another CSM, of any choice of parents
    (or lone accounts) within the CSM's hours, book size and ARR cap."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for a in accounts:
        groups.setdefault(a.get("parent_id") or a["id"], []).append(a)
    best = (0.0, 0, 0)
    for pick in itertools.product([False, True], repeat=len(groups)):
        chosen = [a for members, on in zip(groups.values(), pick, strict=True) if on for a in members]
        if (
            sum(a["hours_per_year"] for a in chosen) <= csm["capacity_hours"] + 1e-9
            and len(chosen) <= csm.get("max_accounts", len(chosen))
            and sum(a["arr"] for a in chosen) <= csm.get("arr_cap", float("inf"))
        ):
            moves = sum(1 for a in chosen if a.get("current_csm") not in (None, csm["id"]))
            best = max(best, (round(sum(a["arr"] for a in chosen), 6), len(chosen), -moves))
    return best


def figures(problem: Problem, units: list[Any], csm_id: str) -> tuple[float, int, int]:
    """(ARR, accounts, -moves) of the units as CSM `csm_id`'s book."""
    accounts = [problem.book.accounts[i] for u in units for i in u.accounts]
    return (
        round(sum(a.arr for a in accounts), 6),
        len(accounts),
        -sum(1 for a in accounts if a.current_csm not in (None, csm_id)),
    )


OTHER_SEGMENT = {"id": "c1", "capacity_hours": 100, "tiers": ["smb"]}


def random_book_to_fill(seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One CSM and 8-11 accounts (two pairs under a parent on odd seeds), some with this CSM today and some
    with another (c1, of another segment)."""
    rng = random.Random(seed)
    accounts: list[dict[str, Any]] = []
    for i in range(rng.randint(8, 11)):
        a: dict[str, Any] = {
            "id": f"a{i}",
            "arr": rng.choice([10_000, 12_000, 20_000, 24_000, 30_000]),
            "hours_per_year": rng.choice([20, 25.5, 30, 40, 50, 60.25]),
        }
        if seed % 2 and i in (1, 2, 5, 6):
            a["parent_id"] = f"p{i // 4}"
        if (draw := rng.random()) < 0.6:
            a["current_csm"] = "c0" if draw < 0.3 else "c1"
        accounts.append(a)
    csm: dict[str, Any] = {"id": "c0", "capacity_hours": rng.choice([90, 120.5, 150])}
    if rng.random() < 0.5:
        csm["max_accounts"] = rng.choice([2, 3, 4])
    return accounts, csm


@pytest.mark.parametrize("seed", range(60))
def test_a_book_takes_what_brute_force_finds_best(seed: int) -> None:
    accounts, csm = random_book_to_fill(seed)
    problem = build_problem(build_book(accounts, [csm, OTHER_SEGMENT]))
    book = fill_book(problem, 0, list(problem.units), book_room(problem, 0, []))
    assert figures(problem, book, "c0") == best_book_by_brute_force(accounts, csm)


def test_the_book_size_is_counted_in_the_table_not_by_dropping_accounts() -> None:
    # Three accounts of $50k in 10 h each fill the 30 h best, but the book holds two: the one of $140k in
    # 30 h beats any two of the others ($100k).
    accounts = [{"id": f"s{i}", "arr": 50_000, "hours_per_year": 10} for i in range(3)]
    accounts.append({"id": "big", "arr": 140_000, "hours_per_year": 30})
    csm = {"id": "c0", "capacity_hours": 30, "max_accounts": 2}
    problem = build_problem(build_book(accounts, [csm]))
    book = fill_book(problem, 0, list(problem.units), book_room(problem, 0, []))
    assert [problem.book.accounts[u.accounts[0]].id for u in book] == ["big"]


def test_coarse_steps_never_overfill_a_book() -> None:
    # Hours to the hundredth (130.01 h and 130.02 h) make the table coarser than a hundredth on a 1,560 h
    # book: twelve such accounts need over 1,560.1 h, so only eleven fit, however the steps round.
    accounts = [{"id": f"a{i}", "arr": 90_000, "hours_per_year": 130.01 + i % 2 / 100} for i in range(14)]
    csm = {"id": "c0", "capacity_hours": 1560}
    problem = build_problem(build_book(accounts, [csm]))
    assert problem.csms[0].capacity // serve_fill.MAX_STEPS > 1  # the steps are coarse
    book = fill_book(problem, 0, list(problem.units), book_room(problem, 0, []))
    assert len(book) == 11
    assert sum(u.hours for u in book) <= problem.csms[0].capacity


def book_of(accounts: list[dict[str, Any]], csm: dict[str, Any]) -> tuple[float, list[str]]:
    """(ARR, account ids) of the book `fill_book` makes for one CSM from these accounts."""
    problem = build_problem(build_book(accounts, [csm]))
    book = fill_book(problem, 0, list(problem.units), book_room(problem, 0, []))
    return sum(u.arr for u in book), sorted(problem.book.accounts[u.accounts[0]].id for u in book)


def test_an_arr_cap_that_cuts_the_choice_drops_what_loses_least() -> None:
    # All three fit the hours ($160k); the $100k cap keeps B and C, not A ($60k, the most ARR per hour).
    accounts = [
        {"id": "A", "arr": 60_000, "hours_per_year": 10},
        {"id": "B", "arr": 50_000, "hours_per_year": 10},
        {"id": "C", "arr": 50_000, "hours_per_year": 10},
    ]
    assert book_of(accounts, {"id": "c0", "capacity_hours": 30, "arr_cap": 100_000}) == (100_000, ["B", "C"])


@pytest.mark.parametrize("seed", range(40))
def test_an_arr_cap_is_kept_and_what_still_fits_is_added(seed: int) -> None:
    rng = random.Random(seed)
    accounts = [
        {
            "id": f"a{i}",
            "arr": rng.choice([0, 20_000, 35_000, 50_000]),
            "hours_per_year": rng.choice([0, 10, 20]),
        }
        for i in range(8)
    ]
    csm = {"id": "c0", "capacity_hours": 50, "arr_cap": rng.choice([60_000, 90_000])}
    arr, ids = book_of(accounts, csm)
    hours = {a["id"]: a["hours_per_year"] for a in accounts}
    assert arr <= csm["arr_cap"] and sum(hours[i] for i in ids) <= 50
    # Nothing left out would still fit the book: not its hours, nor its ARR cap.
    for a in accounts:
        if a["id"] not in ids:
            assert sum(hours[i] for i in ids) + a["hours_per_year"] > 50 or arr + a["arr"] > csm["arr_cap"]


@pytest.mark.parametrize("too_large", ["hours", "arr"])
def test_accounts_that_cannot_fit_take_no_candidates_place(too_large: str) -> None:
    # 60 accounts of the most ARR per hour cannot fit the 100 h book with its $100k cap alone (150 h each,
    # or $150k each); of the three that fit, the best two ($50k in 100 h) are found only if they are the
    # table's candidates (adding what fits, most ARR first, would take the $30k one alone).
    hours, arr = (150, 99_000) if too_large == "hours" else (10, 150_000)
    accounts = [{"id": f"h{i}", "arr": arr, "hours_per_year": hours} for i in range(60)]
    accounts += [
        {"id": "s0", "arr": 30_000, "hours_per_year": 60},
        {"id": "s1", "arr": 25_000, "hours_per_year": 50},
        {"id": "s2", "arr": 25_000, "hours_per_year": 50},
    ]
    csm = {"id": "c0", "capacity_hours": 100, "arr_cap": 100_000}
    assert book_of(accounts, csm) == (50_000, ["s1", "s2"])


def test_where_the_book_size_binds_the_most_arr_per_account_are_candidates_too() -> None:
    # Two places: the two accounts of $100k, not two of the 100 dense ones of $1k.
    accounts = [{"id": f"s{i}", "arr": 1_000, "hours_per_year": 1} for i in range(100)]
    accounts += [{"id": f"b{i}", "arr": 100_000, "hours_per_year": 200} for i in range(2)]
    assert book_of(accounts, {"id": "c0", "capacity_hours": 1000, "max_accounts": 2}) == (
        200_000,
        ["b0", "b1"],
    )


def test_accounts_of_no_hours_count_against_the_book_size_and_arr_cap() -> None:
    accounts = [
        {"id": "zero", "arr": 1_000, "hours_per_year": 0},
        {"id": "big", "arr": 100_000, "hours_per_year": 10},
    ]
    assert book_of(accounts, {"id": "c0", "capacity_hours": 100, "max_accounts": 1}) == (100_000, ["big"])
    accounts[0]["arr"] = 90_000
    assert book_of(accounts, {"id": "c0", "capacity_hours": 100, "arr_cap": 100_000}) == (100_000, ["big"])


def test_a_book_whose_pins_pass_its_hours_takes_nothing() -> None:
    accounts = [
        {"id": "p", "arr": 10_000, "hours_per_year": 120, "current_csm": "c0", "pinned": True},
        {"id": "z", "arr": 5_000, "hours_per_year": 0},
    ]
    problem = build_problem(build_book(accounts, [{"id": "c0", "capacity_hours": 100}]))
    kept = [u for u in problem.units if u.fixed is not None]
    free = [u for u in problem.units if u.fixed is None]
    assert fill_book(problem, 0, free, book_room(problem, 0, kept)) == []


@pytest.mark.parametrize("seed", range(40))
def test_filling_never_serves_less_and_keeps_every_rule(seed: int) -> None:
    _, _, problem = random_tight_book(seed, homes=bool(seed % 3))
    state = first_fit(problem)
    start, assignment = served(problem, state), list(state.assign)
    gained = serve_more_by_filling(problem, state, problem.pools[0])
    check_books(problem, state)
    if gained == 0:
        assert state.assign == assignment  # the plan is left as it was
    else:
        assert served(problem, state) > start


def test_a_plan_is_filled_where_first_fit_leaves_an_account_out() -> None:
    # First fit puts a0 and a1 (30 h each) with c0 and a2 (60 h) with c1: a3 (70 h) fits neither. Filled
    # book by book, c0 takes a3 and one of a0 and a1 (100 h), c1 the other and a2 (90 h): all are served.
    accounts = [
        {"id": "a0", "arr": 30_000, "hours_per_year": 30},
        {"id": "a1", "arr": 30_000, "hours_per_year": 30},
        {"id": "a2", "arr": 60_000, "hours_per_year": 60},
        {"id": "a3", "arr": 70_000, "hours_per_year": 70},
    ]
    csms = [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}]
    problem = build_problem(build_book(accounts, csms))
    state = first_fit(problem)
    assert served(problem, state) == (120_000, 3)
    assert serve_more_by_filling(problem, state, problem.pools[0]) == 70_000
    assert served(problem, state) == (190_000, 4)
    check_books(problem, state)


def test_a_plan_serving_as_much_is_left_as_it_is() -> None:
    # Both plans serve a0 and a1 alone; the fill would swap their CSMs (c1 is the roomier and takes the
    # best), which serves no more: the plan stays.
    accounts = [
        {"id": "a0", "arr": 30_000, "hours_per_year": 60},
        {"id": "a1", "arr": 60_000, "hours_per_year": 60},
    ]
    csms = [{"id": "c0", "capacity_hours": 60}, {"id": "c1", "capacity_hours": 70}]
    problem = build_problem(build_book(accounts, csms))
    state = first_fit(problem)
    assignment = list(state.assign)
    assert serve_more_by_filling(problem, state, problem.pools[0]) == 0
    assert state.assign == assignment


def test_pinned_accounts_stay_and_their_hours_count() -> None:
    accounts = [
        {"id": "p", "arr": 10_000, "hours_per_year": 50, "current_csm": "c0", "pinned": True},
        {"id": "a1", "arr": 60_000, "hours_per_year": 60},
        {"id": "a2", "arr": 50_000, "hours_per_year": 50},
        {"id": "a3", "arr": 40_000, "hours_per_year": 40},
    ]
    csms = [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}]
    problem = build_problem(build_book(accounts, csms))
    state = State.empty(problem)
    for u in problem.units:
        if u.fixed is not None:
            state.place(u, u.fixed)
    serve_more_by_filling(problem, state, problem.pools[0])
    check_books(problem, state)
    ids = {problem.book.accounts[u.accounts[0]].id: state.assign[u.index] for u in problem.units}
    assert ids["p"] == 0
    assert served(problem, state) == (160_000, 4)  # c0 has 50 h beside p: a2; c1 takes a1 and a3


def test_of_two_alike_accounts_the_one_that_would_not_move_is_taken() -> None:
    accounts = [
        {"id": "a0", "arr": 30_000, "hours_per_year": 60, "current_csm": "c1"},
        {"id": "a1", "arr": 30_000, "hours_per_year": 60, "current_csm": "c0"},
    ]
    problem = build_problem(build_book(accounts, [{"id": "c0", "capacity_hours": 60}, OTHER_SEGMENT]))
    state = State.empty(problem)
    assert serve_more_by_filling(problem, state, problem.pools[0]) == 30_000
    assert state.assign[problem.unit_of_account[1]] == 0
    assert state.assign[problem.unit_of_account[0]] == UNASSIGNED


def test_a_book_under_max_moves_or_asked_to_stop_is_left_as_it_is() -> None:
    for policy, stop in (({"max_moves": 100}, None), ({}, lambda: True)):
        accounts = [{"id": f"a{i}", "arr": 10_000 * (i + 1), "hours_per_year": 30} for i in range(4)]
        problem = build_problem(build_book(accounts, [{"id": "c0", "capacity_hours": 60}], **policy))
        state = State.empty(problem)
        assert serve_more_by_filling(problem, state, problem.pools[0], stop) == 0
        assert all(c == UNASSIGNED for c in state.assign)


def test_serve_first_fills_every_tight_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two tight pools (enterprise and mid-market): each is filled once, the one with more ARR at stake first.
    # First fit serves enterprise's best (one account; nothing at stake) and mid-market's m0 alone ($70k at
    # stake: m1 and m2 fit together).
    accounts = [{"id": f"e{i}", "arr": 5_000, "hours_per_year": 60} for i in range(3)]
    accounts += [
        {"id": f"m{i}", "arr": arr, "hours_per_year": hours, "tier": "mid_market"}
        for i, (arr, hours) in enumerate([(50_000, 70), (60_000, 50), (60_000, 50)])
    ]
    csms = [
        {"id": "ce", "capacity_hours": 100},
        {"id": "cm", "capacity_hours": 100, "tiers": ["mid_market"]},
    ]
    problem = build_problem(build_book(accounts, csms))
    state = first_fit(problem)
    filled: list[str] = []
    real = pool_improve.serve_more_by_filling

    def spy(problem: Problem, state: State, pool: Any, *rest: Any) -> float:
        filled.append(pool.name)
        return real(problem, state, pool, *rest)

    monkeypatch.setattr(pool_improve, "serve_more_by_filling", spy)
    monkeypatch.setattr(pool_improve, "serve_more_by_exchanges", lambda *a, **k: 0.0)  # stakes as they are
    assert pool_improve.serve_first(problem, state, Params(workers=1, seed=0, deterministic=True), 1.0)
    assert problem.pools[0].name.startswith("enterprise")
    assert len(filled) == 2 and filled[0].startswith("mid_market")


def test_the_candidates_are_the_most_arr_per_hour() -> None:
    # 50 accounts of $20k in 10 h and 50 of $25k in 50 h; a 200 h book holds 20 of the first ($400k). The
    # table looks at 60 candidates: those of most ARR alone would be the 50 large ones and 10 small ($250k).
    accounts = [{"id": f"d{i}", "arr": 20_000, "hours_per_year": 10} for i in range(50)]
    accounts += [{"id": f"s{i}", "arr": 25_000, "hours_per_year": 50} for i in range(50)]
    problem = build_problem(build_book(accounts, [{"id": "c0", "capacity_hours": 200}]))
    book = fill_book(problem, 0, list(problem.units), book_room(problem, 0, []))
    assert sum(u.arr for u in book) == 400_000


def test_deterministic_mode_stops_filling_past_its_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same two tight pools; a budget of no cells: the first pool's fill fills one book's table, then
    # stops and leaves the plan as it was; the second does not start a table.
    accounts = [{"id": f"e{i}", "arr": 50_000, "hours_per_year": 60} for i in range(3)]
    csms = [{"id": "ce", "capacity_hours": 100}, {"id": "cf", "capacity_hours": 100}]
    problem = build_problem(build_book(accounts, csms))
    state = State.empty(problem)
    work = serve_fill.TableWork()
    stop = lambda: work.cells > 0  # noqa: E731
    assert serve_more_by_filling(problem, state, problem.pools[0], stop, work) == 0
    assert work.cells > 0 and all(c == UNASSIGNED for c in state.assign)
    monkeypatch.setattr(pool_improve, "FILL_CELLS_PER_SECOND", 0)
    monkeypatch.setattr(pool_improve, "serve_more_by_exchanges", lambda *a, **k: 0.0)
    filled: list[float] = []
    real = pool_improve.serve_more_by_filling
    monkeypatch.setattr(
        pool_improve, "serve_more_by_filling", lambda *a: filled.append(real(*a)) or filled[-1]
    )
    state = State.empty(problem)
    pool_improve.serve_first(problem, state, Params(workers=1, seed=0, deterministic=True), 1.0)
    assert filled == [0]


def test_an_arr_cap_drops_several_small_accounts_rather_than_one_large() -> None:
    # All three fit the hours, $1,100 over the $7,000 cap: dropping the two small ones loses $1,099.99,
    # dropping the $7,000 one (the cheapest that covers the excess alone) would lose $7,000 (found by an
    # independent review).
    accounts = [
        {"id": "big", "arr": 7_000, "hours_per_year": 0},
        {"id": "s1", "arr": 1_000, "hours_per_year": 1},
        {"id": "s2", "arr": 99.99, "hours_per_year": 0},
    ]
    assert book_of(accounts, {"id": "c0", "capacity_hours": 10, "arr_cap": 7_000}) == (7_000, ["big"])


def test_a_csm_of_no_hours_keeps_an_account_of_no_hours() -> None:
    # c0 has no hours and serves Z (0 h); c1 holds one account. Filling c1 with X must not take Z off c0
    # (found by an independent review: CSMs of no hours were left out of the fill, their accounts not).
    accounts = [
        {"id": "Z", "arr": 500, "hours_per_year": 0},
        {"id": "X", "arr": 1_000, "hours_per_year": 5},
        {"id": "Y", "arr": 0, "hours_per_year": 100},
    ]
    csms = [{"id": "c0", "capacity_hours": 0}, {"id": "c1", "capacity_hours": 10, "max_accounts": 1}]
    problem = build_problem(build_book(accounts, csms))
    state = State.empty(problem)
    state.place(problem.units[problem.unit_of_account[0]], 0)
    assert serve_more_by_filling(problem, state, problem.pools[0]) == 1_000
    assert served(problem, state) == (1_500, 2)
