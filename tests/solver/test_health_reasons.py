"""Plan reasons that quote hours say how the account's health changed them ("red account: 165 h, 1.5 × 110 h"),
and an account left without a CSM names its segment as people write it."""

from __future__ import annotations

from typing import Any

from solver.engine import solve
from solver.schema import Book
from solver.validation import assert_valid_plan

AS_OF = "2026-11-22"


def book_of(accounts: list[dict[str, Any]], csms: list[dict[str, Any]], **policy: Any) -> Book:
    return Book.model_validate(
        {"accounts": accounts, "csms": csms, "policy": {"as_of": AS_OF, "time_limit_seconds": 5, **policy}}
    )


def test_a_red_account_moved_off_a_leaving_csm_says_its_hours_come_from_its_health() -> None:
    accounts = [
        {
            "id": "red",
            "arr": 90_000,
            "tier": "enterprise",
            "hours_per_year": 110,
            "health": "red",
            "current_csm": "c-old",
        },
        {
            "id": "green",
            "arr": 90_000,
            "tier": "enterprise",
            "hours_per_year": 110,
            "health": "green",
            "current_csm": "c-old",
        },
    ]
    csms = [
        {"id": "c-old", "tiers": ["enterprise"], "end_date": "2026-11-01"},
        {"id": "c-new", "tiers": ["enterprise"]},
    ]
    book = book_of(accounts, csms, health_hours={"red": 1.5})
    plan = solve(book)
    assert_valid_plan(book, plan)
    reasons = {m.account: m.reason for m in plan.moves}
    assert reasons["red"].endswith("(red account: 165 h, 1.5 × 110 h)")
    assert "account:" not in reasons["green"]  # a factor of 1 is not worth a word
    assert {m.account: m.hours for m in plan.moves}["red"] == 165


def test_an_unserved_red_account_of_a_custom_segment_names_the_segment_label_and_the_health_hours() -> None:
    tiers = {"majors": {"hours_per_year": 300, "label": "Majors"}}
    accounts = [{"id": "big", "arr": 900_000, "tier": "majors", "health_score": 20}]
    csms = [{"id": "c-maj", "tiers": ["majors"], "capacity_hours": 400}]
    book = book_of(accounts, csms, tiers=tiers, health_hours={"red": 1.5})
    plan = solve(book)
    assert_valid_plan(book, plan)
    (reason,) = [u.reason for u in plan.unassigned]
    assert reason.startswith("no Majors CSM has 450 h free")
    assert reason.endswith("(red account: 450 h, 1.5 × 300 h)")
