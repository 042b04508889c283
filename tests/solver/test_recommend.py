"""Routing new accounts: every hard rule excludes the CSMs it should (counted by rule), a batch is placed
together, parents in the book bind, ramping CSMs count at their ramped capacity, and every routed book
passes the solver-free validator."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest

from solver import policy as rules
from solver.errors import BookError
from solver.recommend import Recommendation, recommend, route_one_by_one
from solver.routing_book import (
    ZERO,
    add_months,
    outside_metric_bands,
    pool_bands,
    prepare_routing_book,
    renewal_window,
)
from solver.routing_input import AccountInBook, new_accounts_from_data, routed_book_and_plan
from solver.schema import Account, Book
from solver.validation import assert_valid_plan, validate_plan

MakeBook = Callable[..., Book]


def route(book: Book, new: list[dict[str, Any]], top: int = 3) -> list[Recommendation]:
    """Route `new` against `book`, and re-check the routed book with the solver-free validator."""
    routing = prepare_routing_book(book)
    accounts = new_accounts_from_data(routing, [{"arr": 100_000, "tier": "enterprise", **a} for a in new])
    recs = recommend(routing, accounts, top=top)
    chosen = {r.account: (r.candidates[0].csm if r.candidates else None) for r in recs}
    combined, plan = routed_book_and_plan(routing, accounts, chosen)
    assert_valid_plan(combined, plan)
    return recs


def excluded_counts(rec: Recommendation) -> dict[str, int]:
    return {e.rule: e.csms for e in rec.excluded}


def first(rec: Recommendation) -> str | None:
    return rec.candidates[0].csm if rec.candidates else None


def test_each_hard_rule_excludes_its_csms_and_counts_them_in_words(make_book: MakeBook) -> None:
    book = make_book(
        [
            {"id": "held-full", "hours_per_year": 950, "current_csm": "c-full"},
            {"id": "held-arr", "hours_per_year": 10, "arr": 150_000, "current_csm": "c-arr"},
            {"id": "held-max", "hours_per_year": 10, "current_csm": "c-max"},
        ],
        [
            {"id": "c-ok", "capacity_hours": 1000, "regions": ["NA"]},
            {"id": "c-left", "capacity_hours": 1000, "end_date": "2026-11-01"},
            {"id": "c-smb", "capacity_hours": 1000, "tiers": ["smb"]},
            {"id": "c-emea", "capacity_hours": 1000, "regions": ["EMEA"]},
            {"id": "c-apac", "capacity_hours": 1000, "regions": ["APAC"]},
            {"id": "c-de", "capacity_hours": 1000, "languages": ["de"]},
            {"id": "c-closed", "capacity_hours": 1000, "accepting_new": False},
            {"id": "c-full", "capacity_hours": 1000},
            {"id": "c-arr", "capacity_hours": 1000, "arr_cap": 200_000},
            {"id": "c-max", "capacity_hours": 1000, "max_accounts": 1},
        ],
    )
    (rec,) = route(book, [{"id": "new", "hours_per_year": 110, "region": "NA", "language": "en"}])
    assert [c.csm for c in rec.candidates] == ["c-ok"]
    assert excluded_counts(rec) == {
        "left": 1,
        "segment": 1,
        "region": 2,
        "language": 1,
        "accepting_new": 1,
        "capacity_hours": 1,
        "arr_cap": 1,
        "max_accounts": 1,
    }
    reasons = {e.rule: e.reason for e in rec.excluded}
    assert reasons["region"] == "2 CSMs: other region (not NA)"
    assert reasons["capacity_hours"] == "1 CSM: no 110 h free"
    assert next(e for e in rec.excluded if e.rule == "arr_cap").examples == ["c-arr"]


def test_an_account_no_csm_can_take_has_no_candidates_and_says_why(make_book: MakeBook) -> None:
    book = make_book([], [{"id": "c-emea", "regions": ["EMEA"]}])
    (rec,) = route(book, [{"id": "new", "hours_per_year": 110, "region": "NA"}])
    assert rec.candidates == []
    assert rec.note is not None and "other region" in rec.note


def test_two_accounts_that_fit_one_at_a_time_do_not_both_go_to_the_csm_with_room_for_one(
    make_book: MakeBook,
) -> None:
    # Alone, each would go to c-small (73 % after, against 91 % for c-busy): together one must not.
    book = make_book(
        [{"id": "held", "hours_per_year": 800, "current_csm": "c-busy"}],
        [{"id": "c-small", "capacity_hours": 150}, {"id": "c-busy", "capacity_hours": 1000}],
    )
    (alone,) = route(book, [{"id": "n1", "hours_per_year": 110}])
    assert first(alone) == "c-small"
    recs = route(book, [{"id": "n1", "hours_per_year": 110}, {"id": "n2", "hours_per_year": 110}])
    assert sorted(first(r) or "" for r in recs) == ["c-busy", "c-small"]
    on_busy = next(r for r in recs if first(r) == "c-busy")
    assert excluded_counts(on_busy) == {"taken_by_batch": 1}
    assert on_busy.excluded[0].reason == "1 CSM: room taken by this request's other new accounts"


def test_a_new_account_whose_parent_is_in_the_book_goes_to_the_parents_csm(make_book: MakeBook) -> None:
    book = make_book(
        [{"id": "acme-us", "hours_per_year": 600, "parent_id": "acme", "current_csm": "c-busy"}],
        [{"id": "c-busy", "capacity_hours": 1000}, {"id": "c-idle", "capacity_hours": 1000}],
    )
    (rec,) = route(book, [{"id": "acme-de", "hours_per_year": 110, "parent_id": "acme"}])
    assert [c.csm for c in rec.candidates] == ["c-busy"]
    assert "already serves parent acme" in rec.candidates[0].reasons
    assert {e.rule: e.reason for e in rec.excluded} == {"parent": "1 CSM: parent acme is with c-busy"}


def test_a_parent_whose_csm_is_full_leaves_the_new_account_without_candidates(make_book: MakeBook) -> None:
    book = make_book(
        [{"id": "acme-us", "hours_per_year": 950, "parent_id": "acme", "current_csm": "c-busy"}],
        [{"id": "c-busy", "capacity_hours": 1000}, {"id": "c-idle", "capacity_hours": 1000}],
    )
    (rec,) = route(book, [{"id": "acme-de", "hours_per_year": 110, "parent_id": "acme"}])
    assert rec.candidates == []
    assert rec.note == "parent acme is with c-busy, who cannot take it: no 110 h free"


def test_new_accounts_of_one_new_parent_go_to_one_csm(make_book: MakeBook) -> None:
    book = make_book([], [{"id": "c-a", "capacity_hours": 300}, {"id": "c-b", "capacity_hours": 300}])
    recs = route(book, [{"id": f"n{i}", "hours_per_year": 100, "parent_id": "globex"} for i in range(2)])
    assert first(recs[0]) == first(recs[1]) is not None
    assert recs[0].candidates[0].hours_after == 200


def test_a_ramping_csm_counts_with_the_hours_they_can_give_this_year(make_book: MakeBook) -> None:
    # Starts 320 days after as_of: 45 days at a quarter of the ramp, about 48 h this year of 1,560 h.
    book = make_book(
        [{"id": "held", "hours_per_year": 700, "current_csm": "c-old"}],
        [
            {"id": "c-old", "capacity_hours": 1560},
            {"id": "c-new", "capacity_hours": 1560, "start_date": "2027-10-08"},
        ],
    )
    ramped = rules.capacity_hours(book.csms[1], book.policy)
    assert 40 < ramped < 60
    (rec,) = route(book, [{"id": "n1", "hours_per_year": 110}])
    assert [c.csm for c in rec.candidates] == ["c-old"]
    assert excluded_counts(rec) == {"capacity_hours": 1}
    (small,) = route(book, [{"id": "n2", "hours_per_year": 20}])
    assert first(small) == "c-new"
    assert small.candidates[0].capacity_hours == pytest.approx(ramped, abs=0.01)
    assert small.candidates[0].utilization_after == pytest.approx(20 / ramped, abs=1e-4)
    assert any(r.startswith("ramping:") for r in small.candidates[0].reasons)


def test_an_arr_band_steers_the_account_to_the_csm_it_brings_into_the_band(make_book: MakeBook) -> None:
    accounts = [
        {"id": "a", "hours_per_year": 500, "arr": 4_000_000, "current_csm": "c-a"},
        {"id": "b", "hours_per_year": 520, "arr": 2_000_000, "current_csm": "c-b"},
    ]
    csms = [{"id": "c-a", "capacity_hours": 1000}, {"id": "c-b", "capacity_hours": 1000}]
    new = [{"id": "n", "hours_per_year": 10, "arr": 1_500_000}]
    (hours_only,) = route(make_book(accounts, csms), new)
    assert first(hours_only) == "c-a"  # lowest utilization after
    # ARR centre after: 7.5M / 2,000 h = 3,750 per hour, ±10 %: c-a would leave the band, c-b enters it.
    (with_arr,) = route(make_book(accounts, csms, balance_metrics={"arr": 0.1}), new)
    assert first(with_arr) == "c-b"
    assert [c.csm for c in with_arr.candidates] == ["c-b", "c-a"]
    assert "outside the arr band" in with_arr.candidates[1].reasons


def test_a_red_account_needs_its_health_hours_on_the_csm(make_book: MakeBook) -> None:
    book = make_book([], [{"id": "c-a", "capacity_hours": 150}], health_hours={"red": 1.5})
    (rec,) = route(book, [{"id": "n", "hours_per_year": 110, "health": "red"}])
    assert rec.hours == 165
    assert excluded_counts(rec) == {"capacity_hours": 1}


def test_renewal_windows_are_the_four_three_month_windows_after_as_of() -> None:
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    today = dt.date(2026, 11, 22)
    account = Account(id="x", arr=1, tier="smb", renewal_date=dt.date(2027, 2, 21))
    assert renewal_window(account, today) == 0
    assert renewal_window(account.model_copy(update={"renewal_date": dt.date(2027, 2, 22)}), today) == 1
    assert renewal_window(account.model_copy(update={"renewal_date": dt.date(2027, 11, 22)}), today) is None


def test_a_random_batch_keeps_every_hard_rule_for_the_whole_book(make_book: MakeBook) -> None:
    rng = random.Random(5)
    for trial in range(25):
        csms = [
            {
                "id": f"c{i}",
                "capacity_hours": rng.choice([200, 400, 800]),
                "arr_cap": rng.choice([None, 500_000, 1_000_000]),
                "max_accounts": rng.choice([None, 3, 6]),
                "regions": [rng.choice(["NA", "EMEA"])],
            }
            for i in range(5)
        ]
        held = [
            {"id": f"h{j}", "hours_per_year": rng.choice([50, 110]), "arr": rng.choice([100_000, 300_000])}
            for j in range(6)
        ]
        book = make_book([], csms)
        # Only existing accounts that fit keep their CSM: the book itself must be valid.
        routing = prepare_routing_book(book)
        placed: list[dict[str, Any]] = []
        for h in held:
            for c in csms:
                trial_book = make_book(
                    [*placed, {**h, "current_csm": c["id"], "region": c["regions"][0]}], csms
                )
                tb_routing = prepare_routing_book(trial_book)
                combined, plan = routed_book_and_plan(tb_routing, [], {})
                if not validate_plan(combined, plan):
                    placed.append({**h, "current_csm": c["id"], "region": c["regions"][0]})
                    break
        book = make_book(placed, csms)
        routing = prepare_routing_book(book)
        new = [
            {
                "id": f"n{trial}-{k}",
                "hours_per_year": rng.choice([30, 110, 150]),
                "arr": rng.choice([50_000, 250_000]),
                "region": rng.choice(["NA", "EMEA"]),
                "parent_id": rng.choice([None, None, "p1", "p2"]),
            }
            for k in range(rng.randint(2, 9))
        ]
        recs = route(book, new, top=50)
        assert len(recs) == len(new)
        # Every CSM is either a candidate or counted under exactly one rule.
        assert all(len(r.candidates) + sum(e.csms for e in r.excluded) == len(csms) for r in recs)
        assert routing.account_ids == {a["id"] for a in placed}


def test_a_new_account_already_in_the_book_is_refused_naming_it(make_book: MakeBook) -> None:
    routing = prepare_routing_book(make_book([{"id": "acme", "hours_per_year": 10}], [{"id": "c-a"}]))
    with pytest.raises(AccountInBook, match=r"accounts\[1\]\.id: account 'acme' is already in the book"):
        new_accounts_from_data(
            routing, [{"id": "x", "arr": 1, "tier": "smb"}, {"id": "acme", "arr": 1, "tier": "smb"}]
        )


@pytest.mark.parametrize(
    ("accounts", "field"),
    [
        ([], "accounts"),
        ([{"id": "x", "arr": -1, "tier": "smb"}], "accounts[0].arr"),
        ([{"id": "x", "arr": 1, "tier": "platinum"}], "accounts[0].tier"),
        ([{"id": "x", "arr": 1, "tier": "smb", "current_csm": "c-a"}], "accounts[0].current_csm"),
        ([{"id": "x", "arr": 1, "tier": "smb"}, {"id": "x", "arr": 1, "tier": "smb"}], "accounts[1].id"),
        ([{"id": f"x{i}", "arr": 1, "tier": "smb"} for i in range(10_001)], "accounts"),
    ],
)
def test_bad_new_accounts_are_refused_naming_the_field(
    make_book: MakeBook, accounts: list[dict[str, Any]], field: str
) -> None:
    routing = prepare_routing_book(make_book([], [{"id": "c-a"}]))
    with pytest.raises(BookError) as caught:
        new_accounts_from_data(routing, accounts)
    assert caught.value.field == field, caught.value.message
    assert caught.value.message.startswith(field)


def test_routing_one_by_one_is_recommending_each_alone_against_the_book_the_previous_ones_left(
    make_book: MakeBook,
) -> None:
    csms = [
        {"id": "c-a", "capacity_hours": 600},
        {"id": "c-b", "capacity_hours": 900, "arr_cap": 700_000},
        {"id": "c-c", "capacity_hours": 400},
    ]
    held = [{"id": "h", "hours_per_year": 200, "current_csm": "c-b"}]
    stream = [
        {"id": f"n{i}", "hours_per_year": h, "arr": arr, "tier": "enterprise"}
        for i, (h, arr) in enumerate(
            [(150, 300_000), (110, 100_000), (90, 250_000), (200, 50_000), (60, 90_000)]
        )
    ]
    book = make_book(held, csms, balance_metrics={"arr": 0.2})
    chosen = route_one_by_one(prepare_routing_book(book), [Account.model_validate(a) for a in stream])
    accounts = list(book.accounts)
    for new in stream:
        (rec,) = recommend(
            prepare_routing_book(book.model_copy(update={"accounts": accounts})),
            [Account.model_validate(new)],
        )
        assert chosen[new["id"]] == first(rec), new["id"]
        if first(rec) is not None:
            accounts.append(Account.model_validate({**new, "current_csm": first(rec)}))
    assert len(set(chosen.values())) > 1


def test_a_count_band_is_never_tighter_than_one_account(make_book: MakeBook) -> None:
    # Two 1,000 h CSMs with 3 accounts between them: the centre is 1.5 accounts each and ±10 % of it is
    # ±0.15, but a count band is never held tighter than ±1, so 1 and 2 accounts are both inside.
    book = make_book(
        [
            {"id": "a1", "hours_per_year": 10, "current_csm": "c-a"},
            {"id": "a2", "hours_per_year": 10, "current_csm": "c-a"},
            {"id": "b1", "hours_per_year": 10, "current_csm": "c-b"},
        ],
        [{"id": "c-a", "capacity_hours": 1000}, {"id": "c-b", "capacity_hours": 1000}],
        balance_metrics={"accounts": 0.1},
    )
    routing = prepare_routing_book(book)
    bands = pool_bands(routing, routing.seats[0].pool, ZERO)
    assert bands.metrics["accounts"] == (pytest.approx(0.0015),)
    assert outside_metric_bands(routing, routing.seats[0], routing.seats[0].load, bands) == []
    assert outside_metric_bands(routing, routing.seats[1], routing.seats[1].load, bands) == []
    three = routing.seats[0].load + routing.seats[1].load
    assert outside_metric_bands(routing, routing.seats[0], three, bands) == ["accounts"]


def test_a_pooled_segment_says_a_pooled_program_serves_it(make_book: MakeBook) -> None:
    book = make_book([], [{"id": "c-a"}])
    (rec,) = route(book, [{"id": "n", "tier": "tech_touch", "arr": 500}])
    assert rec.candidates == []
    assert rec.excluded[0].reason == "1 CSM: do not cover tech-touch (a pooled program serves it)"
