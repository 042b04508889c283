"""The solver-free validator catches every kind of broken plan, and accepts a correct one.

Books and plans here are written by hand with round figures, so every expected number can be checked on
paper: the validator is the referee of the engine tests and must not share the engine's mistakes.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from solver.schema import Book, Plan
from solver.validation import Violation, assert_valid_plan, validate_plan

AS_OF = "2026-11-22"


def book_data() -> dict[str, Any]:
    """Two enterprise CSMs of 1,000 h; three accounts with explicit hours; globex is in EMEA."""
    return {
        "accounts": [
            {"id": "acme", "arr": 300_000, "tier": "enterprise", "hours_per_year": 200, "region": "NA",
             "current_csm": "c-ana"},
            {"id": "globex", "arr": 200_000, "tier": "enterprise", "hours_per_year": 300, "region": "EMEA",
             "current_csm": "c-ana"},
            {"id": "initech", "arr": 100_000, "tier": "enterprise", "hours_per_year": 100, "region": "NA"},
        ],
        "csms": [
            {"id": "c-ana", "tiers": ["enterprise"], "capacity_hours": 1000, "arr_cap": 1_000_000,
             "max_accounts": 3, "regions": ["NA"]},
            {"id": "c-lee", "tiers": ["enterprise"], "capacity_hours": 1000, "arr_cap": 1_000_000,
             "max_accounts": 3, "regions": ["NA", "EMEA"]},
        ],
        "policy": {"as_of": AS_OF},
    }  # fmt: skip


def plan_data() -> dict[str, Any]:
    """The correct plan for book_data(): globex moves to the CSM who covers EMEA; loads by hand."""
    return {
        "status": "optimal",
        "assignments": [
            {"account": "acme", "csm": "c-ana"},
            {"account": "globex", "csm": "c-lee"},
            {"account": "initech", "csm": "c-ana"},
        ],
        "unassigned": [],
        "moves": [{"account": "globex", "from": "c-ana", "to": "c-lee", "reason": "EMEA",
                   "handoff_on": AS_OF, "wave": 1}],
        "csm_loads": [
            {"csm": "c-ana", "hours": 300.0, "capacity_hours": 1000, "utilization": 0.3, "arr": 400_000,
             "arr_cap": 1_000_000, "accounts": 2},
            {"csm": "c-lee", "hours": 300.0, "capacity_hours": 1000, "utilization": 0.3, "arr": 200_000,
             "arr_cap": 1_000_000, "accounts": 1},
        ],
        "max_utilization": 0.3,
        "max_utilization_bound": 0.3,
        "gap": 0.0,
        "solver": {"version": "test", "seconds": 0.0, "seed": 0, "input_sha256": "0" * 64},
    }  # fmt: skip


def check(book: dict[str, Any], plan: dict[str, Any]) -> list[Violation]:
    return validate_plan(Book.model_validate(book), Plan.model_validate(plan))


def rules_broken(book: dict[str, Any], plan: dict[str, Any]) -> set[str]:
    return {v.rule for v in check(book, plan)}


def messages(book: dict[str, Any], plan: dict[str, Any], rule: str) -> str:
    return " | ".join(v.message for v in check(book, plan) if v.rule == rule)


def assign(plan: dict[str, Any], account: str, csm: str | None) -> None:
    """Re-point one account in a plan dict (None: make it unassigned with a reason)."""
    plan["assignments"] = [a for a in plan["assignments"] if a["account"] != account]
    plan["unassigned"] = [u for u in plan["unassigned"] if u["account"] != account]
    if csm is None:
        plan["unassigned"].append({"account": account, "reason": "no CSM has room"})
    else:
        plan["assignments"].append({"account": account, "csm": csm})


def account(book: dict[str, Any], account_id: str) -> dict[str, Any]:
    return next(a for a in book["accounts"] if a["id"] == account_id)


def csm(book: dict[str, Any], csm_id: str) -> dict[str, Any]:
    return next(c for c in book["csms"] if c["id"] == csm_id)


def load(plan: dict[str, Any], csm_id: str) -> dict[str, Any]:
    return next(x for x in plan["csm_loads"] if x["csm"] == csm_id)


# ---------------------------------------------------------------- a correct plan


def test_a_correct_plan_has_no_violations() -> None:
    assert check(book_data(), plan_data()) == []
    assert_valid_plan(Book.model_validate(book_data()), Plan.model_validate(plan_data()))


def test_loads_rounded_to_a_tenth_of_an_hour_and_three_decimals_are_accepted() -> None:
    book, plan = book_data(), plan_data()
    account(book, "initech")["hours_per_year"] = 100.04
    account(book, "acme")["hours_per_year"] = 200.3333
    load(plan, "c-ana").update(hours=300.4, utilization=0.3)
    plan["max_utilization"] = 0.3
    assert check(book, plan) == []


# ---------------------------------------------------------------- every account exactly once


def test_an_account_missing_from_the_plan_is_caught() -> None:
    plan = plan_data()
    plan["assignments"] = [a for a in plan["assignments"] if a["account"] != "initech"]
    assert "accounts" in rules_broken(book_data(), plan)
    assert "initech" in messages(book_data(), plan, "accounts")


def test_an_account_both_assigned_and_unassigned_is_caught() -> None:
    plan = plan_data()
    plan["unassigned"].append({"account": "initech", "reason": "no room"})
    assert "appears 2 times" in messages(book_data(), plan, "accounts")


def test_an_account_assigned_twice_is_caught() -> None:
    plan = plan_data()
    plan["assignments"].append({"account": "acme", "csm": "c-lee"})
    assert "acme appears 2 times" in messages(book_data(), plan, "accounts")


def test_an_unknown_account_is_caught() -> None:
    plan = plan_data()
    plan["unassigned"].append({"account": "hooli", "reason": "no room"})
    assert "hooli" in messages(book_data(), plan, "accounts")


def test_an_assignment_of_an_unknown_account_is_caught() -> None:
    plan = plan_data()
    plan["assignments"].append({"account": "hooli", "csm": "c-lee"})
    assert messages(book_data(), plan, "accounts") == "assignment of unknown account 'hooli'"


def test_an_assignment_to_an_unknown_csm_is_caught() -> None:
    plan = plan_data()
    assign(plan, "initech", "c-ghost")
    assert "c-ghost" in messages(book_data(), plan, "accounts")


def test_an_unassigned_account_without_a_reason_is_caught() -> None:
    plan = plan_data()
    assign(plan, "initech", None)
    plan["unassigned"][0]["reason"] = "   "
    load(plan, "c-ana").update(hours=200.0, utilization=0.2, arr=300_000, accounts=1)
    assert rules_broken(book_data(), plan) == {"unassigned_reason"}


def test_an_account_left_unassigned_with_a_reason_is_accepted() -> None:
    plan = plan_data()
    assign(plan, "initech", None)
    load(plan, "c-ana").update(hours=200.0, utilization=0.2, arr=300_000, accounts=1)
    assert check(book_data(), plan) == []


# ---------------------------------------------------------------- pairwise eligibility


def test_a_csm_who_does_not_cover_the_tier_is_caught() -> None:
    book = book_data()
    account(book, "initech")["tier"] = "strategic"
    assert "does not cover strategic" in messages(book, plan_data(), "eligibility")


def test_a_csm_outside_the_accounts_region_is_caught_when_region_match_is_hard() -> None:
    book, plan = book_data(), plan_data()
    assign(plan, "globex", "c-ana")
    plan["moves"] = []
    load(plan, "c-ana").update(hours=600.0, utilization=0.6, arr=600_000, accounts=3)
    load(plan, "c-lee").update(hours=0.0, utilization=0.0, arr=0, accounts=0)
    plan.update(max_utilization=0.6, max_utilization_bound=0.6)
    assert rules_broken(book, plan) == {"eligibility"}
    assert "region EMEA" in messages(book, plan, "eligibility")
    book["policy"]["region_match"] = "soft"
    assert check(book, plan) == []


def test_a_csm_who_does_not_speak_the_language_is_caught_when_language_match_is_hard() -> None:
    book = book_data()
    account(book, "acme")["language"] = "de"
    csm(book, "c-ana")["languages"] = ["en"]
    assert "does not speak de" in messages(book, plan_data(), "eligibility")
    book["policy"]["language_match"] = "off"
    assert check(book, plan_data()) == []


def test_a_banned_pair_is_caught() -> None:
    book = book_data()
    book["pairs"] = [{"account": "initech", "csm": "c-ana", "allowed": False}]
    assert "not allowed" in messages(book, plan_data(), "eligibility")


def test_a_new_account_for_a_csm_not_accepting_new_ones_is_caught() -> None:
    book = book_data()
    csm(book, "c-ana")["accepting_new"] = False
    # acme was c-ana's already (allowed); initech is new to her (not allowed).
    assert messages(book, plan_data(), "eligibility").count("not accepting") == 1
    assert "initech" in messages(book, plan_data(), "eligibility")


def test_an_account_given_to_a_csm_who_left_is_caught() -> None:
    book = book_data()
    csm(book, "c-lee")["end_date"] = "2026-11-15"
    assert "c-lee left on 2026-11-15" in messages(book, plan_data(), "eligibility")


# ---------------------------------------------------------------- per-CSM caps


def test_capacity_overload_is_caught_using_the_pairs_hours() -> None:
    book = book_data()
    # With this pair override c-ana carries 950 + 100 = 1,050 h of 1,000.
    book["pairs"] = [{"account": "acme", "csm": "c-ana", "hours": 950}]
    assert "1,050.0 h of 1,000.0 h" in messages(book, plan_data(), "capacity_hours")


def test_capacity_exactly_full_is_accepted() -> None:
    book, plan = book_data(), plan_data()
    book["pairs"] = [{"account": "acme", "csm": "c-ana", "hours": 900}]
    load(plan, "c-ana").update(hours=1000.0, utilization=1.0)
    plan.update(max_utilization=1.0, max_utilization_bound=1.0)
    assert check(book, plan) == []


def test_an_overload_smaller_than_the_rounding_of_the_message_is_still_caught_and_shown() -> None:
    book = book_data()
    book["pairs"] = [{"account": "acme", "csm": "c-ana", "hours": 900.004}]
    assert "1,000.0040 h of 1,000.0000 h" in messages(book, plan_data(), "capacity_hours")


def test_a_ramping_csm_has_less_capacity_than_a_full_year() -> None:
    book, plan = book_data(), plan_data()
    # Starting today with a 90-day ramp: (365 - 90 + 45) / 365 of 1,000 h = 876.7 h.
    csm(book, "c-lee")["start_date"] = AS_OF
    account(book, "globex")["hours_per_year"] = 900
    load(plan, "c-lee").update(hours=900.0, utilization=0.9)
    plan.update(max_utilization=0.9, max_utilization_bound=0.9)
    broken = check(book, plan)
    assert {v.rule for v in broken} >= {"capacity_hours", "csm_loads"}
    assert "876.7 h" in messages(book, plan, "capacity_hours")


def test_arr_over_the_cap_is_caught() -> None:
    book = book_data()
    csm(book, "c-ana")["arr_cap"] = 350_000
    assert rules_broken(book, plan_data()) == {"arr_cap", "csm_loads"}
    assert "c-ana" in messages(book, plan_data(), "arr_cap")


def test_too_many_accounts_is_caught() -> None:
    book = book_data()
    csm(book, "c-ana")["max_accounts"] = 1
    assert "c-ana has 2 accounts, more than 1" in messages(book, plan_data(), "max_accounts")


# ---------------------------------------------------------------- pins and freezes


def test_a_pinned_account_moved_away_is_caught() -> None:
    book, plan = book_data(), plan_data()
    account(book, "acme")["pinned"] = True
    assign(plan, "acme", "c-lee")
    assert "acme must stay with c-ana (pinned)" in messages(book, plan, "freeze")


def test_a_renewal_frozen_account_left_unassigned_is_caught() -> None:
    book, plan = book_data(), plan_data()
    account(book, "acme")["renewal_date"] = "2027-01-15"
    assign(plan, "acme", None)
    assert "acme must stay with c-ana (renewal" in messages(book, plan, "freeze")


@pytest.mark.parametrize(("renewal_date", "broken"), [("2027-02-20", {"freeze"}), ("2027-02-21", set())])
def test_a_renewal_just_outside_the_freeze_window_lets_the_account_move(
    renewal_date: str, broken: set[str]
) -> None:
    # 2027-02-20 is 90 days after 2026-11-22: still frozen. One day later the move is free.
    book, plan = book_data(), plan_data()
    account(book, "acme")["renewal_date"] = renewal_date
    assign(plan, "acme", "c-lee")
    plan["moves"].append({"account": "acme", "from": "c-ana", "to": "c-lee", "reason": "balance"})
    load(plan, "c-ana").update(hours=100.0, utilization=0.1, arr=100_000, accounts=1)
    load(plan, "c-lee").update(hours=500.0, utilization=0.5, arr=500_000, accounts=2)
    plan.update(max_utilization=0.5, max_utilization_bound=0.5)
    # The move carries no handoff schedule (tested in test_handoffs.py): only the freeze is judged here.
    assert {rule for rule in rules_broken(book, plan) if not rule.startswith("handoff")} == broken


def test_an_onboarding_account_moved_away_is_caught() -> None:
    book = book_data()
    account(book, "globex").update(region="NA", start_date="2026-10-01")
    # globex moved from c-ana to c-lee in the plan: forbidden while onboarding, as c-ana can serve it now.
    assert "globex must stay with c-ana (onboarding" in messages(book, plan_data(), "freeze")


def test_a_freeze_is_released_when_the_current_csm_cannot_serve_the_account() -> None:
    book = book_data()
    # c-ana does not cover EMEA, so globex's onboarding freeze cannot hold and the move is right.
    account(book, "globex")["start_date"] = "2026-10-01"
    assert check(book, plan_data()) == []


def test_a_freeze_is_released_when_the_current_csm_cannot_serve_the_whole_parent_company() -> None:
    book, plan = book_data(), plan_data()
    # acme renews soon with c-ana, but its sibling globex is in EMEA, which c-ana does not cover.
    account(book, "acme").update(renewal_date="2027-01-15", parent_id="holdco")
    account(book, "globex")["parent_id"] = "holdco"
    assign(plan, "acme", "c-lee")
    # Inside its renewal freeze today, so the handoff waits for the day after the renewal (wave 8).
    plan["moves"].append(
        {
            "account": "acme",
            "from": "c-ana",
            "to": "c-lee",
            "wave": 8,
            "handoff_on": "2027-01-16",
            "reason": "parent holdco; handoff waits until after the renewal",
        }
    )
    load(plan, "c-ana").update(hours=100.0, utilization=0.1, arr=100_000, accounts=1)
    load(plan, "c-lee").update(hours=500.0, utilization=0.5, arr=500_000, accounts=2)
    plan.update(max_utilization=0.5, max_utilization_bound=0.5)
    assert check(book, plan) == []
    account(book, "acme")["pinned"] = True
    assert "the book is infeasible" in messages(book, plan, "freeze")


def test_a_pin_to_a_csm_who_cannot_serve_the_account_cannot_be_a_solved_plan() -> None:
    book, plan = book_data(), plan_data()
    account(book, "globex")["pinned"] = True
    assert "the book is infeasible" in messages(book, plan, "freeze")


# ---------------------------------------------------------------- parents and moves


def test_a_split_parent_company_is_caught() -> None:
    book = book_data()
    account(book, "acme")["parent_id"] = "holdco"
    account(book, "globex")["parent_id"] = "holdco"
    assert "holdco" in messages(book, plan_data(), "parent")


def test_a_parent_company_left_unassigned_together_is_accepted() -> None:
    book, plan = book_data(), plan_data()
    account(book, "acme")["parent_id"] = "holdco"
    account(book, "initech")["parent_id"] = "holdco"
    assign(plan, "acme", None)
    assign(plan, "initech", None)
    load(plan, "c-ana").update(hours=0.0, utilization=0.0, arr=0, accounts=0)
    assert check(book, plan) == []


def test_more_moves_than_max_moves_is_caught() -> None:
    book = book_data()
    book["policy"]["max_moves"] = 0
    assert "1 moves, more than max_moves = 0" in messages(book, plan_data(), "max_moves")
    book["policy"]["max_moves"] = 1
    assert check(book, plan_data()) == []


def test_an_unlisted_move_is_caught() -> None:
    plan = plan_data()
    plan["moves"] = []
    assert "globex moves c-ana→c-lee but the move is not listed" in messages(book_data(), plan, "moves")


def test_a_move_with_the_wrong_origin_is_caught() -> None:
    plan = plan_data()
    plan["moves"][0]["from"] = "c-lee"
    assert "globex" in messages(book_data(), plan, "moves")


def test_a_move_without_a_reason_is_caught() -> None:
    plan = plan_data()
    plan["moves"][0]["reason"] = ""
    assert "has no reason" in messages(book_data(), plan, "moves")


def test_a_move_listed_for_an_account_that_stays_is_caught() -> None:
    plan = plan_data()
    plan["moves"].append({"account": "acme", "from": "c-lee", "to": "c-ana", "reason": "balance"})
    assert "acme" in messages(book_data(), plan, "moves")


def test_an_account_that_loses_its_csm_to_unassigned_is_not_a_move() -> None:
    book, plan = book_data(), plan_data()
    assign(plan, "acme", None)
    load(plan, "c-ana").update(hours=100.0, utilization=0.1, arr=100_000, accounts=1)
    assert check(book, plan) == []
    plan["moves"].append({"account": "acme", "from": "c-ana", "to": "c-lee", "reason": "x"})
    assert "moves" in rules_broken(book, plan)


# ---------------------------------------------------------------- reported figures


def test_a_wrong_load_is_caught() -> None:
    plan = plan_data()
    load(plan, "c-lee").update(hours=250.0, arr=150_000)
    msg = messages(book_data(), plan, "csm_loads")
    assert "c-lee" in msg and "hours 250" in msg and "arr 150000" in msg


def test_a_missing_load_is_caught() -> None:
    plan = plan_data()
    plan["csm_loads"] = plan["csm_loads"][:1]
    assert "no load reported for c-lee" in messages(book_data(), plan, "csm_loads")


def test_a_load_for_a_csm_who_left_is_caught_and_none_is_expected() -> None:
    book, plan = book_data(), plan_data()
    book["csms"].append({"id": "c-bo", "tiers": ["enterprise"], "end_date": "2026-11-01"})
    assert check(book, plan) == []
    plan["csm_loads"].append(
        {"csm": "c-bo", "hours": 0, "capacity_hours": 0, "utilization": 0, "arr": 0, "arr_cap": None,
         "accounts": 0}
    )  # fmt: skip
    assert "c-bo, who has left" in messages(book, plan, "csm_loads")


def test_a_wrong_max_utilization_is_caught() -> None:
    plan = plan_data()
    plan.update(max_utilization=0.25, max_utilization_bound=0.25)
    assert "max_utilization" in rules_broken(book_data(), plan)


def test_a_bound_above_the_max_utilization_is_caught() -> None:
    plan = plan_data()
    plan.update(max_utilization_bound=0.35, gap=-0.05)
    assert rules_broken(book_data(), plan) == {"max_utilization_bound"}


def test_a_gap_that_is_not_max_minus_bound_is_caught() -> None:
    plan = plan_data()
    plan.update(max_utilization_bound=0.2, gap=0.0)
    assert rules_broken(book_data(), plan) == {"gap"}
    plan["gap"] = 0.1
    assert check(book_data(), plan) == []


# ---------------------------------------------------------------- status, diagnosis, cost


def test_an_infeasible_plan_without_a_diagnosis_is_caught() -> None:
    plan = {"status": "infeasible", "solver": plan_data()["solver"]}
    assert rules_broken(book_data(), plan) == {"diagnosis"}


def test_an_infeasible_plan_with_a_diagnosis_needs_no_assignments() -> None:
    plan = {
        "status": "infeasible",
        "diagnosis": [
            {"rule": "capacity_hours", "message": "pinned accounts overload c-ana", "csm": "c-ana"}
        ],
        "solver": plan_data()["solver"],
    }
    assert check(book_data(), plan) == []
    plan["diagnosis"][0]["message"] = ""
    assert rules_broken(book_data(), plan) == {"diagnosis"}


def min_cost_case() -> tuple[dict[str, Any], dict[str, Any]]:
    book, plan = book_data(), plan_data()
    book["policy"]["objective"] = "min_cost"
    book["pairs"] = [
        {"account": "acme", "csm": "c-ana", "cost": 3},
        {"account": "globex", "csm": "c-lee", "cost": 5},
        {"account": "initech", "csm": "c-lee", "cost": 1},  # not chosen: does not count
    ]
    plan.update(objective="min_cost", total_cost=8, cost_bound=8)
    return book, plan


def test_a_min_cost_plan_with_the_right_total_cost_is_accepted() -> None:
    book, plan = min_cost_case()
    assert check(book, plan) == []


def test_a_wrong_total_cost_is_caught() -> None:
    book, plan = min_cost_case()
    plan["total_cost"] = 9
    assert "expected 8" in messages(book, plan, "total_cost")
    plan["total_cost"] = None
    assert "total_cost" in rules_broken(book, plan)


def test_a_cost_bound_above_the_total_cost_is_caught() -> None:
    book, plan = min_cost_case()
    plan["cost_bound"] = 8.5
    assert rules_broken(book, plan) == {"cost_bound"}


# ---------------------------------------------------------------- the assertion


def test_assert_valid_plan_lists_every_violation() -> None:
    book, plan = book_data(), copy.deepcopy(plan_data())
    csm(book, "c-ana")["max_accounts"] = 1
    plan["moves"] = []
    with pytest.raises(AssertionError) as excinfo:
        assert_valid_plan(Book.model_validate(book), Plan.model_validate(plan))
    text = str(excinfo.value)
    assert "[max_accounts]" in text and "[moves]" in text and "2 rule(s)" in text


def test_a_plan_is_judged_on_its_own_date_not_today() -> None:
    book, plan = book_data(), plan_data()
    del book["policy"]["as_of"]
    # On the plan's date acme renews within 90 days, so moving it breaks the freeze, whatever today is.
    account(book, "acme")["renewal_date"] = "2026-07-01"
    plan["as_of"] = "2026-06-01"
    plan["moves"][0]["handoff_on"] = "2026-06-01"
    assign(plan, "acme", "c-lee")
    plan["moves"].append(
        {
            "account": "acme",
            "from": "c-ana",
            "to": "c-lee",
            "reason": "balance after the renewal",
            "handoff_on": "2026-07-02",
            "wave": 5,
        }
    )
    load(plan, "c-ana").update(hours=100.0, utilization=0.1, arr=100_000, accounts=1)
    load(plan, "c-lee").update(hours=500.0, utilization=0.5, arr=500_000, accounts=2)
    plan.update(max_utilization=0.5, max_utilization_bound=0.5)
    assert rules_broken(book, plan) == {"freeze"}


def with_pool(plan: dict[str, Any], served_arr: float, served_arr_bound: float | None) -> dict[str, Any]:
    """The plan with one pool summary of both CSMs (they serve $600k between them)."""
    plan["pools"] = [
        {"pool": "enterprise", "csms": ["c-ana", "c-lee"], "accounts": 3, "demand_hours": 600,
         "capacity_hours": 2000, "mean_utilization": 0.3, "max_utilization": 0.3, "max_utilization_bound": 0.3,
         "status": "optimal", "served_arr": served_arr, "served_arr_bound": served_arr_bound}
    ]  # fmt: skip
    return plan


def served_rules(plan: dict[str, Any]) -> set[str]:
    """The pool's served-ARR rules the plan breaks (a pool summary also asks for fairness figures, which
    these hand-made plans leave out)."""
    return rules_broken(book_data(), plan) & {"served_arr", "served_arr_bound"}


def test_a_pool_served_arr_as_served_is_accepted() -> None:
    assert served_rules(with_pool(plan_data(), 600_000, 600_000)) == set()
    assert served_rules(with_pool(plan_data(), 600_000, None)) == set()


def test_a_wrong_pool_served_arr_is_caught() -> None:
    plan = with_pool(plan_data(), 500_000, 600_000)
    assert served_rules(plan) == {"served_arr"}
    assert "expected 600,000.00" in messages(book_data(), plan, "served_arr")


def test_a_served_arr_bound_below_the_arr_served_is_caught() -> None:
    plan = with_pool(plan_data(), 600_000, 599_000)
    assert served_rules(plan) == {"served_arr_bound"}
