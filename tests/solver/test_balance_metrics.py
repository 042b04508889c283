"""Balance beyond hours (CONTRACT.md second round): each band binding and satisfied, the part-time CSM's
fair share, tight and overloaded pools, fairness figures re-checked, determinism and bad input.

Every plan is re-checked by the solver-free validator and judged by the brute-force priorities of
`test_priority_proofs.Judge` (written from the contract alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_priority_proofs import Judge

from solver.engine import input_sha256, solve
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan, validate_plan

MakeBook = Callable[..., Book]


def judged(book: Book) -> Plan:
    """Solve, validate, and check an `optimal` plan against the brute-force best."""
    plan = solve(book)
    assert_valid_plan(book, plan)
    judge = Judge(book)
    best, _ = judge.best()
    assert plan.status == "optimal"
    assert judge.of_plan(plan) == best
    return plan


def fairness(plan: Plan, metric: str) -> Any:
    (entry,) = [f for f in plan.fairness if f.metric == metric]
    return entry


def csm_of(plan: Plan) -> dict[str, str]:
    return {a.account: a.csm for a in plan.assignments}


# ---------------------------------------------------------------- each band, binding and satisfied


def arr_book(make_book: MakeBook, **policy: Any) -> Book:
    # Hours are even (100 h each, both in the hours band); c0 manages $1.4M and c1 $600k.
    return make_book(
        [
            {"id": "big", "arr": 900_000, "hours_per_year": 50, "current_csm": "c0"},
            {"id": "mid0", "arr": 500_000, "hours_per_year": 50, "current_csm": "c0"},
            {"id": "mid1", "arr": 500_000, "hours_per_year": 50, "current_csm": "c1"},
            {"id": "small", "arr": 100_000, "hours_per_year": 50, "current_csm": "c1"},
        ],
        [{"id": "c0", "capacity_hours": 200}, {"id": "c1", "capacity_hours": 200}],
        **policy,
    )


def test_without_an_arr_band_an_even_book_in_hours_is_left_as_it_is(make_book: MakeBook) -> None:
    plan = judged(arr_book(make_book))
    assert plan.moves == []
    assert fairness(plan, "arr").after.max == pytest.approx(1_400_000 / 200)


def test_an_arr_band_moves_accounts_until_every_csm_is_inside_it(make_book: MakeBook) -> None:
    plan = judged(arr_book(make_book, balance_metrics={"arr": 0.15}))
    # The band is $850k-$1.15M for each: swapping mid0 for small puts both at $1.0M in two moves.
    assert len(plan.moves) == 2
    arr = {ld.csm: ld.arr for ld in plan.csm_loads}
    assert arr == {"c0": 1_000_000, "c1": 1_000_000}
    figures = fairness(plan, "arr")
    assert (figures.before.out_of_band, figures.after.out_of_band) == (2, 0)
    # A move made for ARR fairness says so.
    assert any(m.reason == "c0 manages $1.4M, band $850k–$1.15M" for m in plan.moves), [
        m.reason for m in plan.moves
    ]


def test_a_band_holding_no_whole_dollar_leaves_every_csm_outside_it_and_still_plans(
    make_book: MakeBook,
) -> None:
    # A tolerance of 0: c0's fair share is $30,001 x 100 / 300 = $10,000.33, c1's $20,000.67. No whole
    # dollar lies in either band, so nobody can be inside it (the band MIP once handed HiGHS such a row,
    # low end above high end, and the solve failed with a traceback).
    book = make_book(
        [
            {"id": "a0", "arr": 10_001, "hours_per_year": 50},
            {"id": "a1", "arr": 20_000, "hours_per_year": 50},
        ],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 200}],
        balance_metrics={"arr": 0},
    )
    plan = judged(book)
    assert fairness(plan, "arr").after.out_of_band == 2


def count_book(make_book: MakeBook, figure: dict[str, Any], n: int, **policy: Any) -> Book:
    """c0 holds n 10 h accounts with `figure`, c1 n plain 10 h accounts: hours even, the figure not."""
    return make_book(
        [{"id": f"x{i}", "hours_per_year": 10, "current_csm": "c0", **figure} for i in range(n)]
        + [{"id": f"y{i}", "hours_per_year": 10, "current_csm": "c1", "health": "green"} for i in range(n)],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}],
        renewal_freeze_days=0,
        **policy,
    )


def test_a_red_accounts_band_spreads_red_accounts_and_holds_at_one_either_side(make_book: MakeBook) -> None:
    quiet = judged(count_book(make_book, {"health": "red"}, 3))
    assert quiet.moves == []
    # Three red accounts for two CSMs: 1.5 each ± 20 % is 1.2-1.8, which no count meets; never held
    # tighter than ±1 it is 0.5-2.5, and c0 (3) and c1 (0) are out.
    # One move (c0 20 h, c1 40 h: both on the hours band's edge, 30 % ± 10, which is inside) is enough.
    plan = judged(count_book(make_book, {"health": "red"}, 3, balance_metrics={"red_accounts": 0.2}))
    assert len(plan.moves) == 1 and plan.moves[0].account.startswith("x")
    # The move says which band it was made for, not "evens out utilization" (c1 goes from 30 % to 40 %).
    assert plan.moves[0].reason == "c0 has 3 red accounts, band 0.5–2.5"
    figures = fairness(plan, "red_accounts")
    assert (figures.before.out_of_band, figures.after.out_of_band) == (2, 0)


def test_an_accounts_band_evens_out_book_sizes(make_book: MakeBook) -> None:
    book = make_book(
        [{"id": f"s{i}", "hours_per_year": 10, "current_csm": "c0"} for i in range(4)]
        + [{"id": "big", "hours_per_year": 40, "current_csm": "c1"}],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}],
    )
    assert judged(book).moves == []
    plan = judged(
        book.model_copy(
            update={"policy": book.policy.model_copy(update={"balance_metrics": {"accounts": 0.2}})}
        )
    )
    # 2.5 accounts each ± 1: c0's 4 and c1's 1 are out; one small account moves (3 and 2; 30 % and 50 %
    # utilization are on the hours band's edges, inside).
    assert [m.account for m in plan.moves][:1] and len(plan.moves) == 1
    assert plan.moves[0].reason == "c0 has 4 accounts, band 1.5–3.5"
    assert fairness(plan, "accounts").after.out_of_band == 0


def test_each_renewal_window_is_its_own_band(make_book: MakeBook) -> None:
    q1 = {"renewal_date": "2027-01-10"}  # within 3 months of 2026-11-22
    book = count_book(make_book, q1, 4, balance_metrics={"renewals": 0.5})
    plan = judged(book)
    # Four Q1 renewals for two CSMs: 2 ± 1 each; c0's 4 and c1's 0 are out until one of each swaps.
    q1_figures = fairness(plan, "renewals_q1")
    assert (q1_figures.before.out_of_band, q1_figures.after.out_of_band) == (2, 0)
    assert {f.metric for f in plan.fairness} == {"hours", "arr", *(f"renewals_q{k}" for k in range(1, 5))}
    assert 1 <= len(plan.moves) <= 2
    reasons = {m.reason for m in plan.moves}
    assert "c0 has 4 renewals due in months 1–3, band 1–3" in reasons, reasons


# ---------------------------------------------------------------- the part-time CSM's fair share


def test_a_half_time_csm_gets_half_the_arr_share_of_a_full_time_one(make_book: MakeBook) -> None:
    arrs = [500_000, 100_000, 300_000, 300_000, 300_000, 300_000]
    book = make_book(
        [{"id": f"a{i}", "arr": a, "hours_per_year": 100} for i, a in enumerate(arrs)],
        [{"id": "full", "fte": 1.0}, {"id": "half", "fte": 0.5}],
        balance_metrics={"arr": 0.15},
        time_limit_seconds=10,
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    arr = {ld.csm: ld.arr for ld in plan.csm_loads}
    # $1.8M over 2,340 h: the half-time CSM's fair share is 780 / 2,340 of it, $600k, ± 15 %.
    assert 510_000 <= arr["half"] <= 690_000
    assert fairness(plan, "arr").after.out_of_band == 0
    assert plan.status == "optimal"


# ---------------------------------------------------------------- tight and overloaded pools


def test_an_overloaded_csm_leaves_out_the_accounts_with_the_least_arr_per_hour(make_book: MakeBook) -> None:
    book = make_book(
        [
            {"id": "a10k", "arr": 10_000, "hours_per_year": 40},
            {"id": "a50k", "arr": 50_000, "hours_per_year": 40},
            {"id": "a30k", "arr": 30_000, "hours_per_year": 40},
            {"id": "a20k", "arr": 20_000, "hours_per_year": 40},
        ],
        [{"id": "c0", "capacity_hours": 100}],
    )
    plan = judged(book)
    assert sorted(u.account for u in plan.unassigned) == ["a10k", "a20k"]
    reason = next(u.reason for u in plan.unassigned if u.account == "a10k")
    assert "serves the most ARR it can" in reason and "$10k for 40 h" in reason
    (pool,) = plan.pools
    assert pool.served_arr == 80_000 and pool.served_arr_bound == 80_000


@st.composite
def tight_books(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    caps = draw(st.lists(st.sampled_from([100, 120, 150]), min_size=2, max_size=3))
    total = sum(caps)
    hours: list[int] = []
    while sum(hours) < total * 0.97:
        hours.append(draw(st.sampled_from([15, 20, 25, 35, 40, 55])))
        if len(hours) == 7:
            break
    accounts = [
        {"id": f"a{i}", "hours_per_year": h, "arr": draw(st.sampled_from([10_000, 40_000, 90_000]))}
        for i, h in enumerate(hours)
    ]
    csms = [{"id": f"c{k}", "capacity_hours": cap} for k, cap in enumerate(caps)]
    return accounts, csms


def most_servable(book: Book) -> int:
    caps = [c.capacity_hours or 0 for c in book.csms]
    best = 0
    for choice in itertools.product(range(len(caps) + 1), repeat=len(book.accounts)):
        load = [0.0] * len(caps)
        for a, k in zip(book.accounts, choice, strict=True):
            if k < len(caps):
                load[k] += a.hours_per_year or 0
        if all(x <= c for x, c in zip(load, caps, strict=True)):
            best = max(best, sum(1 for k in choice if k < len(caps)))
    return best


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=tight_books())
def test_a_tight_pool_serves_every_account_wherever_a_packing_exists(
    make_book: MakeBook, data: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    book = make_book(*data, deterministic=True, time_limit_seconds=3)
    plan = solve(book)
    assert_valid_plan(book, plan)
    if most_servable(book) == len(book.accounts):
        assert plan.unassigned == []
    assert plan.status == "optimal"
    judge = Judge(book)
    assert judge.of_plan(plan)[:2] == judge.best()[0][:2]


# ---------------------------------------------------------------- fairness re-checked, determinism


def test_the_validator_recomputes_every_fairness_figure(make_book: MakeBook) -> None:
    book = arr_book(make_book, balance_metrics={"arr": 0.15})
    plan = solve(book)
    assert validate_plan(book, plan) == []
    for field, value in (("max", 1.0), ("gini", 0.5), ("out_of_band", 1), ("cv", 0.3), ("mean", 2.0)):
        bad = plan.model_copy(deep=True)
        entry = next(f for f in bad.fairness if f.metric == "arr")
        setattr(entry.after, field, getattr(entry.after, field) + value)
        assert any(v.rule == "fairness" and f".{field}" in v.message for v in validate_plan(book, bad)), field
    missing = plan.model_copy(deep=True)
    missing.fairness = [f for f in missing.fairness if f.metric != "hours"]
    assert any("missing" in v.message for v in validate_plan(book, missing))


def test_the_same_book_and_seed_give_the_same_plan_with_metrics_on(make_book: MakeBook) -> None:
    accounts = [
        {
            "id": f"a{i}",
            "arr": 20_000 + 7_919 * i % 180_000,
            "hours_per_year": 20 + 5 * (i % 7),
            "health": ["red", "green", "yellow"][i % 3],
            "renewal_date": f"2027-{1 + i % 12:02d}-15",
            "current_csm": f"c{i % 4}" if i % 3 else None,
        }
        for i in range(60)
    ]
    book = make_book(
        accounts,
        [{"id": f"c{k}", "capacity_hours": 400 + 100 * k} for k in range(5)],
        balance_metrics={"arr": 0.15, "red_accounts": 0.5, "renewals": 0.5},
        deterministic=True,
        renewal_freeze_days=0,
        time_limit_seconds=2,
    )
    first, second = solve(book), solve(book)
    assert_valid_plan(book, first)
    strip = lambda p: {**p.to_json_dict(), "solver": None}  # noqa: E731
    assert strip(first) == strip(second)


# ---------------------------------------------------------------- input


def test_red_accounts_with_only_some_health_given_is_a_warning(make_book: MakeBook) -> None:
    book = make_book(
        [{"id": "a", "health": "red"}, {"id": "b"}],
        [{"id": "c0"}],
        balance_metrics={"red_accounts": 0.5},
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.warnings and "1 of 2 accounts have no health" in plan.warnings[0]


@pytest.mark.parametrize(
    ("metrics", "named"),
    [({"revenue": 0.1}, "revenue"), ({"arr": -0.1}, "arr"), ({"arr": "wide"}, "arr"), ({"arr": True}, "arr")],
)
def test_a_bad_balance_metric_is_rejected_naming_the_field(
    make_book: MakeBook, metrics: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as err:
        make_book([{"id": "a"}], [{"id": "c0"}], balance_metrics=metrics)
    assert "balance_metrics" in str(err.value) and named in str(err.value)


# ---------------------------------------------------------------- ARR band repair by like-for-like swaps


def test_arr_swaps_bring_csms_into_the_arr_band_without_changing_hours_or_book_sizes(
    make_book: MakeBook,
) -> None:
    from solver.arr_swaps import even_out_arr_by_swaps
    from solver.prepare import build_problem
    from solver.state import State

    arrs = [900_000, 800_000, 300_000, 200_000, 100_000, 50_000]
    book = make_book(
        [{"id": f"a{i}", "arr": a, "hours_per_year": 50} for i, a in enumerate(arrs)],
        [{"id": "c0", "capacity_hours": 300}, {"id": "c1", "capacity_hours": 300}],
        balance_metrics={"arr": 0.15},
    )
    problem = build_problem(book)
    state = State.empty(problem)
    for u in problem.units:
        state.place(u, 0 if u.index < 3 else 1)  # c0 holds the three largest: $2.0M against $350k
    hours, count = list(state.load), list(state.count)
    swaps = even_out_arr_by_swaps(problem, state, problem.pools[0], deadline=None)
    assert swaps >= 1
    assert (state.load, state.count) == (hours, count)
    # $2.35M over two equal CSMs: $1.175M each ± 15 %, i.e. $998,750-$1,351,250.
    assert all(998_750 <= state.arr[c] <= 1_351_250 for c in (0, 1)), state.arr


def test_arr_swaps_look_past_the_roomiest_partners_when_they_hold_nothing_to_trade(
    make_book: MakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A round first tries the PARTNERS CSMs with the most room (here 1: c1, far under its band), but c1
    # holds only 60 h accounts and c0's are 50 h; c2 holds a 50 h account to trade. Total $2.51M over three
    # equal CSMs: band $711,167-$962,167; c0 holds $1.7M.
    from solver.arr_swaps import even_out_arr_by_swaps
    from solver.prepare import build_problem
    from solver.state import State

    monkeypatch.setattr("solver.arr_swaps.PARTNERS", 1)
    held = {"a0": ("c0", 900_000, 50), "a1": ("c0", 800_000, 50), "y": ("c1", 10_000, 60)}
    held |= {"b": ("c2", 100_000, 50), "x": ("c2", 700_000, 60)}
    book = make_book(
        [{"id": a, "arr": arr, "hours_per_year": h} for a, (_, arr, h) in held.items()],
        [{"id": c, "capacity_hours": 300} for c in ("c0", "c1", "c2")],
        balance_metrics={"arr": 0.15},
    )
    problem = build_problem(book)
    state = State.empty(problem)
    for u in problem.units:
        state.place(u, problem.csm_index[held[book.accounts[u.accounts[0]].id][0]])
    even_out_arr_by_swaps(problem, state, problem.pools[0], deadline=None)
    assert 711_167 <= state.arr[problem.csm_index["c0"]] <= 962_167, state.arr


def test_the_input_fingerprint_keeps_the_order_of_the_metrics(make_book: MakeBook) -> None:
    # The order of balance_metrics is their priority: two books differing only in it are two inputs.
    one = arr_book(make_book, balance_metrics={"arr": 0.15, "accounts": 0.2})
    other = arr_book(make_book, balance_metrics={"accounts": 0.2, "arr": 0.15})
    assert input_sha256(one) != input_sha256(other)
    assert input_sha256(one) == input_sha256(
        arr_book(make_book, balance_metrics={"arr": 0.15, "accounts": 0.2})
    )


def test_a_move_that_carries_no_red_account_does_not_say_it_was_made_for_the_red_accounts_band(
    make_book: MakeBook,
) -> None:
    # c0 holds three red accounts, c1-c3 three green each (all 10 h). Red accounts spread to two other
    # CSMs; a green account that follows to keep the hours even carries no red account.
    accounts = [{"id": f"r{i}", "hours_per_year": 10, "current_csm": "c0", "health": "red"} for i in range(3)]
    for k in range(1, 4):
        accounts += [
            {"id": f"g{k}{i}", "hours_per_year": 10, "current_csm": f"c{k}", "health": "green"}
            for i in range(3)
        ]
    book = make_book(
        accounts,
        [{"id": f"c{k}", "capacity_hours": 100} for k in range(4)],
        balance_metrics={"red_accounts": 0.5},
    )
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.moves
    for move in plan.moves:
        carries_red = move.account.startswith("r")
        assert ("red accounts" in move.reason) == carries_red, (move.account, move.reason)
        assert "band -" not in move.reason  # a count band never shows a negative low edge
