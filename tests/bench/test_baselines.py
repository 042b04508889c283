"""The peers and the shared scorer: peers keep the rules they claim, the scorer catches broken ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from bench import baselines, books
from solver.schema import Book

Peer = Callable[[Book], baselines.Run]


@pytest.fixture(scope="module")
def small_fresh() -> Book:
    return books.generate_book(300, seed=21)


@pytest.fixture(scope="module")
def small_rebalance() -> Book:
    return books.generate_rebalance_book(400, seed=22)


def _book(accounts: list[dict[str, object]], csms: list[dict[str, object]], **policy: object) -> Book:
    return Book.model_validate(
        {
            "accounts": [{"arr": 100_000, "tier": "enterprise", "region": "NA", **a} for a in accounts],
            "csms": [{"tiers": ["enterprise"], "regions": ["NA"], **c} for c in csms],
            "policy": {"as_of": "2026-11-22", **policy},
        }
    )


def _assert_eligible(book: Book, assignment: baselines.Assignment) -> None:
    inst = baselines.build_instance(book)
    for a, account in enumerate(book.accounts):
        csm = assignment[account.id]
        if csm is not None:
            assert inst.csm_index[csm] in inst.eligible_set[a], (account.id, csm)


@pytest.mark.parametrize("peer", [baselines.round_robin, baselines.least_loaded])
def test_greedy_peers_respect_eligibility_and_caps_on_a_fresh_book(small_fresh: Book, peer: Peer) -> None:
    run = peer(small_fresh)
    _assert_eligible(small_fresh, run.assignment)
    result = baselines.score(small_fresh, run.assignment)
    assert result["cap_violations"] == 0
    assert result["unassigned"] == 0
    assert set(run.assignment) == {a.id for a in small_fresh.accounts}


@pytest.mark.parametrize("peer", [baselines.round_robin, baselines.least_loaded])
def test_greedy_peers_route_only_what_needs_a_csm_in_a_historical_book(
    small_rebalance: Book, peer: Peer
) -> None:
    run = peer(small_rebalance)
    _assert_eligible(small_rebalance, run.assignment)
    as_of = small_rebalance.policy.as_of
    left = {c.id for c in small_rebalance.csms if c.end_date is not None and as_of and c.end_date <= as_of}
    for account in small_rebalance.accounts:
        if account.current_csm is not None and account.current_csm not in left:
            assert run.assignment[account.id] == account.current_csm
        elif account.current_csm in left:
            assert run.assignment[account.id] != account.current_csm


def test_round_robin_takes_eligible_csms_in_turn() -> None:
    book = _book([{"id": f"a{i}", "hours_per_year": 100} for i in range(4)], [{"id": "c-a"}, {"id": "c-b"}])
    run = baselines.round_robin(book)
    assert [run.assignment[f"a{i}"] for i in range(4)] == ["c-a", "c-b", "c-a", "c-b"]


def test_least_loaded_skips_a_csm_without_room() -> None:
    book = _book(
        [
            {"id": "big", "hours_per_year": 1500},
            {"id": "small", "hours_per_year": 100},
            {"id": "huge", "hours_per_year": 1550},
        ],
        [{"id": "c-a"}, {"id": "c-b"}],
    )
    run = baselines.least_loaded(book)
    assert run.assignment == {"big": "c-a", "small": "c-b", "huge": None}
    assert baselines.score(book, run.assignment)["violations"]["capacity"] == 0


def test_naive_cpsat_keeps_every_hard_rule(small_rebalance: Book) -> None:
    run = baselines.naive_cpsat(small_rebalance, time_limit=5)
    assert run.status in ("optimal", "feasible")
    _assert_eligible(small_rebalance, run.assignment)
    result = baselines.score(small_rebalance, run.assignment)
    assert result["cap_violations"] == 0, result["violations"]
    assert result["unassigned"] == 0
    assert result["moves"] >= result["moves_bound"]


def test_naive_cpsat_and_highs_agree_on_a_small_min_cost_book() -> None:
    book = books.generate_gap_book(4, 30, seed=23)
    cp = baselines.naive_cpsat(book, time_limit=10)
    mip = baselines.highs_mip(book, time_limit=10)  # in its own process: OR-Tools is loaded here
    assert cp.status == mip.status == "optimal"
    cp_cost = baselines.score(book, cp.assignment)["total_cost"]
    mip_cost = baselines.score(book, mip.assignment)["total_cost"]
    assert cp_cost == pytest.approx(mip_cost) == pytest.approx(cp.objective)


def test_score_counts_an_overloaded_csm_and_a_split_parent() -> None:
    book = _book(
        [
            {"id": "p1", "hours_per_year": 900, "parent_id": "p"},
            {"id": "p2", "hours_per_year": 900, "parent_id": "p"},
        ],
        [{"id": "c-a"}, {"id": "c-b"}],
    )
    assert baselines.score(book, {"p1": "c-a", "p2": "c-b"})["violations"]["parents_split"] == 1
    together = baselines.score(book, {"p1": "c-a", "p2": "c-a"})
    assert together["violations"]["capacity"] == 1
    assert together["violations"]["parents_split"] == 0


def test_score_measures_the_largest_utilization_against_the_pool_bound() -> None:
    book = _book(
        [{"id": f"a{i}", "hours_per_year": 390} for i in range(4)],
        [{"id": "c-a"}, {"id": "c-b"}],
    )
    even = baselines.score(book, {"a0": "c-a", "a1": "c-a", "a2": "c-b", "a3": "c-b"})
    uneven = baselines.score(book, {"a0": "c-a", "a1": "c-a", "a2": "c-a", "a3": "c-b"})
    assert even["max_utilization"] == pytest.approx(0.5)
    assert even["worst_gap_points"] == pytest.approx(0.0)
    assert uneven["worst_gap_points"] == pytest.approx(25.0)
    assert uneven["out_of_band"] == 2


def test_the_moves_bound_counts_a_leavers_accounts_and_the_overload_to_shed() -> None:
    as_of = dt.date(2026, 11, 22)
    book = _book(
        [
            {"id": "gone1", "hours_per_year": 100, "current_csm": "c-gone"},
            {"id": "gone2", "hours_per_year": 100, "current_csm": "c-gone"},
            *({"id": f"heavy{i}", "hours_per_year": 200, "current_csm": "c-a"} for i in range(8)),
            {"id": "light", "hours_per_year": 200, "current_csm": "c-b"},
        ],
        [
            {"id": "c-a"},
            {"id": "c-b"},
            {"id": "c-gone", "end_date": (as_of - dt.timedelta(days=7)).isoformat()},
        ],
    )
    result = baselines.score(book, {a.id: a.current_csm for a in book.accounts})
    # Pool mean is 2,000 h / 3,120 h = 64 %; c-a at 1,600 h must shed to 74 % (1,154 h): 3 accounts.
    assert result["moves_bound"] == 2 + 3
    assert result["moves"] == 0
    assert result["violations"]["ineligible"] == 2


def test_a_frozen_account_moved_is_a_broken_rule() -> None:
    book = _book(
        [{"id": "renewing", "renewal_date": "2026-12-15", "current_csm": "c-a"}],
        [{"id": "c-a"}, {"id": "c-b"}],
    )
    assert baselines.score(book, {"renewing": "c-b"})["violations"]["frozen_moved"] == 1
    assert baselines.score(book, {"renewing": "c-a"})["cap_violations"] == 0
