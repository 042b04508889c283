"""Tight pools of many small accounts: the knapsack of what to serve, then its split among the CSMs
(solver/serve_knapsack.py), checked against brute force on small pools. The brute force states the rules
from the book itself: each CSM's hours, ARR cap and book size; a parent's accounts go together."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import build_book
from test_serve_repack import best_by_brute_force, first_fit, kept, random_tight_book, served

from solver.prepare import build_problem
from solver.serve_knapsack import packs_small_accounts, serve_more_by_knapsack
from solver.state import State


def best_knapsack_by_brute_force(
    accounts: list[dict[str, Any]], csms: list[dict[str, Any]]
) -> tuple[float, int]:
    """The most ARR, then accounts, of any choice of parents (or lone accounts) within the CSMs' hours, ARR
    caps and book sizes added up: what a plan could serve if the books' boundaries did not matter."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for a in accounts:
        groups.setdefault(a.get("parent_id") or a["id"], []).append(a)
    best = (0.0, 0)
    for pick in itertools.product([False, True], repeat=len(groups)):
        chosen = [a for members, on in zip(groups.values(), pick, strict=True) if on for a in members]
        if (
            sum(a["hours_per_year"] for a in chosen) <= sum(c["capacity_hours"] for c in csms)
            and sum(a["arr"] for a in chosen) <= sum(c["arr_cap"] for c in csms)
            and len(chosen) <= sum(c["max_accounts"] for c in csms)
        ):
            best = max(best, (round(sum(a["arr"] for a in chosen), 6), len(chosen)))
    return best


def check_books(problem: Any, state: State) -> None:
    """The state's own totals agree with its books, and every CSM's hours, ARR and book size fit."""
    for c, info in enumerate(problem.csms):
        mine = [u for u in problem.units if state.assign[u.index] == c]
        assert state.load[c] == sum(u.hours_for(c) for u in mine) <= info.capacity
        assert state.count[c] == sum(u.size for u in mine)
        assert info.arr_cap is None or sum(u.arr for u in mine) <= info.arr_cap + 1e-6
        assert info.max_accounts is None or state.count[c] <= info.max_accounts


@pytest.mark.parametrize("seed", range(40))
def test_the_knapsacks_choice_is_served_whenever_some_split_serves_it(seed: int) -> None:
    accounts, csms, problem = random_tight_book(seed)
    state = first_fit(problem)
    start = served(problem, state)
    serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=seed, deterministic=True)
    check_books(problem, state)
    best, knapsack = best_by_brute_force(accounts, csms), best_knapsack_by_brute_force(accounts, csms)
    assert served(problem, state) >= start
    # Either the plan is as it was, or it serves the knapsack's best; where some plan serves that (the
    # knapsack is the best plan's ceiling), the split is found.
    assert served(problem, state) in (start, knapsack)
    if best == knapsack:
        assert served(problem, state) == best


def most_kept_by_brute_force(
    accounts: list[dict[str, Any]], csms: list[dict[str, Any]], served_ids: set[str]
) -> int:
    """The most accounts with the CSM they have today of any split of exactly these accounts (parents
    whole) among the CSMs within every CSM's hours, ARR cap and book size."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for a in accounts:
        if a["id"] in served_ids:
            groups.setdefault(a.get("parent_id") or a["id"], []).append(a)
    best = -1
    for choice in itertools.product(range(len(csms)), repeat=len(groups)):
        load = [[0.0, 0.0, 0] for _ in csms]
        for members, c in zip(groups.values(), choice, strict=True):
            load[c][0] += sum(a["hours_per_year"] for a in members)
            load[c][1] += sum(a["arr"] for a in members)
            load[c][2] += len(members)
        if all(
            h <= csm["capacity_hours"] + 1e-9 and arr <= csm["arr_cap"] + 1e-6 and n <= csm["max_accounts"]
            for (h, arr, n), csm in zip(load, csms, strict=True)
        ):
            best = max(
                best,
                sum(
                    a.get("current_csm") == csms[c]["id"]
                    for members, c in zip(groups.values(), choice, strict=True)
                    for a in members
                ),
            )
    return best


def test_a_split_keeps_the_most_accounts_with_the_csm_they_have_today() -> None:
    checked = 0
    for seed in range(60):
        accounts, csms, problem = random_tight_book(seed, homes=True)
        state = State.empty(problem)  # nobody served: the knapsack's choice is all new
        if not serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=seed, deterministic=True):
            continue
        served_ids = {
            problem.account(i).id for u in problem.units if state.assign[u.index] >= 0 for i in u.accounts
        }
        assert kept(problem, state) == most_kept_by_brute_force(accounts, csms, served_ids)
        checked += 1
    assert checked >= 10


def test_only_pools_of_many_small_accounts_a_csm_take_the_knapsack() -> None:
    def pool_of(n_accounts: int, **policy: Any) -> bool:
        problem = build_problem(
            build_book(
                [{"id": f"a{i}", "hours_per_year": 10} for i in range(n_accounts)],
                [{"id": f"c{k}", "capacity_hours": 100} for k in range(3)],
                **policy,
            )
        )
        return packs_small_accounts(problem, problem.pools[0])

    assert pool_of(60) and not pool_of(59)  # 20 accounts a CSM
    assert not pool_of(60, max_moves=5)  # the split may move any account


def test_a_plan_already_serving_as_much_is_left_as_it_is() -> None:
    # Nothing better to serve: the plan stays as it is, whatever the seed (the split starts from the plan).
    changed = 0
    for seed in range(40):
        _, _, problem = random_tight_book(seed)
        state = first_fit(problem)
        serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=seed, deterministic=True)
        before = list(state.assign)
        for again in range(3):  # other seeds would split the same choice other ways
            gained = serve_more_by_knapsack(
                problem, state, problem.pools[0], 5.0, seed=again, deterministic=True
            )
            assert gained == 0 and state.assign == before
        changed += before != first_fit(problem).assign
    assert changed >= 5


def test_a_choice_is_judged_by_its_arr_before_its_accounts() -> None:
    # A parent of 5 accounts ($100.00) or one account of $100.01, into 10 h: the plan serving the one
    # account keeps it, however many accounts the parent has (a cent outweighs any number of accounts).
    problem = build_problem(
        build_book(
            [{"id": f"p{i}", "arr": 20, "hours_per_year": 2, "parent_id": "P"} for i in range(5)]
            + [{"id": "solo", "arr": 100.01, "hours_per_year": 10}],
            [{"id": "c0", "capacity_hours": 10}],
        )
    )
    state = State.empty(problem)
    solo = problem.units[problem.unit_of_account[5]]
    state.place(solo, 0)
    gained = serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=0, deterministic=True)
    assert gained == 0 and state.assign[solo.index] == 0
    # From nothing served, the knapsack itself picks the one account.
    state = State.empty(problem)
    assert serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=0, deterministic=True) == 100.01
    assert state.assign[solo.index] == 0


def test_an_account_only_a_csm_without_hours_could_take_does_not_stop_the_others() -> None:
    # fr may only go to c1, who has no hours: the knapsack leaves it out and serves the ten largest en.
    problem = build_problem(
        build_book(
            [
                {"id": f"a{i}", "arr": 10_000 + 1_000 * i, "hours_per_year": 10, "language": "en"}
                for i in range(22)
            ]
            + [{"id": "fr", "arr": 5_000, "hours_per_year": 10, "language": "fr"}],
            [
                {"id": "c0", "capacity_hours": 100, "languages": ["en"]},
                {"id": "c1", "capacity_hours": 0, "languages": ["en", "fr"]},
            ],
        )
    )
    state = State.empty(problem)
    gained = serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=0, deterministic=True)
    assert gained == sum(10_000 + 1_000 * i for i in range(12, 22))


def test_a_choice_is_applied_only_when_it_serves_more_in_the_plans_own_figures() -> None:
    # x0 and x1 ($0.004 each, 5 h) or y ($0.006, 10 h) into 10 h. In whole cents y weighs 1 and the x's 0,
    # but the x's serve more: the plan serving them is kept.
    problem = build_problem(
        build_book(
            [
                {"id": "x0", "arr": 0.004, "hours_per_year": 5},
                {"id": "x1", "arr": 0.004, "hours_per_year": 5},
                {"id": "y", "arr": 0.006, "hours_per_year": 10},
            ],
            [{"id": "c0", "capacity_hours": 10}],
        )
    )
    state = State.empty(problem)
    for i in (0, 1):
        state.place(problem.units[problem.unit_of_account[i]], 0)
    before = list(state.assign)
    assert serve_more_by_knapsack(problem, state, problem.pools[0], 5.0, seed=0, deterministic=True) == 0
    assert state.assign == before
