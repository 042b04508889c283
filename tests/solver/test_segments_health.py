"""Segments of the customer's own, health, and CRM identities: schema rules and what the engine makes of them.

Hours are worked out by hand: a custom segment's service model is its `hours_per_year` (or the sum of its
activities); a red account with `health_hours.red = 1.5` needs 1.5 × that.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from solver.engine import solve
from solver.gaps import hiring_gaps
from solver.schema import Book
from solver.validation import assert_valid_plan

AS_OF = "2026-11-22"
OWN_SEGMENTS = {
    "commercial": {"hours_per_year": 30, "label": "Commercial", "aliases": ["COMM"]},
    "corporate": {
        "activities": [
            {"name": "QBR", "count": 4, "hours": 5},
            {"name": "check-ins", "count": 12, "hours": 2},
        ],
        "max_accounts": 30,
        "level": "senior_csm",
    },
    "majors": {"hours_per_year": 300, "arr_cap": 2_000_000, "label": "Majors"},
}


def book_of(accounts: list[dict[str, Any]], csms: list[dict[str, Any]], **policy: Any) -> Book:
    return Book.model_validate(
        {"accounts": accounts, "csms": csms, "policy": {"as_of": AS_OF, "time_limit_seconds": 5, **policy}}
    )


def own_segment_book() -> Book:
    accounts = (
        [{"id": f"com-{i}", "arr": 20_000, "tier": "commercial"} for i in range(30)]
        + [{"id": f"cor-{i}", "arr": 80_000, "tier": "corporate"} for i in range(20)]
        + [{"id": f"maj-{i}", "arr": 600_000, "tier": "majors"} for i in range(5)]
    )
    csms = [
        {"id": "c-com", "tiers": ["commercial"]},
        {"id": "c-cor", "tiers": ["corporate", "commercial"]},
        {"id": "c-maj1", "tiers": ["majors"]},
        {"id": "c-maj2", "tiers": ["majors"]},
    ]
    return book_of(accounts, csms, tiers=OWN_SEGMENTS)


def test_a_book_of_only_its_own_segments_is_planned_and_validated() -> None:
    book = own_segment_book()
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert not plan.unassigned
    by_csm = {load.csm: load for load in plan.csm_loads}
    # 30 commercial × 30 h + 20 corporate × (4×5 + 12×2 = 44 h) = 900 + 880 = 1,780 h over two CSMs.
    assert by_csm["c-com"].hours + by_csm["c-cor"].hours == pytest.approx(1780)
    # 5 majors × 300 h, at most 3 each (the $2M ARR cap: 3 × $600k = $1.8M).
    assert {by_csm["c-maj1"].accounts, by_csm["c-maj2"].accounts} == {2, 3}
    assert max(by_csm["c-maj1"].arr, by_csm["c-maj2"].arr) <= 2_000_000


def test_the_majors_arr_cap_of_the_segment_binds() -> None:
    accounts = [{"id": f"maj-{i}", "arr": 600_000, "tier": "majors"} for i in range(4)]
    book = book_of(accounts, [{"id": "c-maj", "tiers": ["majors"]}], tiers=OWN_SEGMENTS)
    plan = solve(book)
    assert_valid_plan(book, plan)
    # 4 × 300 h fit the 1,560 h, but a fourth $600k account would take the book past $2M.
    assert len(plan.assignments) == 3 and len(plan.unassigned) == 1


def test_hiring_gaps_report_the_own_segments_with_their_levels() -> None:
    accounts = [{"id": f"cor-{i}", "arr": 80_000, "tier": "corporate"} for i in range(50)]
    book = book_of(accounts, [{"id": "c-cor", "tiers": ["corporate"]}], tiers=OWN_SEGMENTS)
    report = hiring_gaps(book)
    pool = next(p for p in report.pools if p.tier == "corporate")
    # 50 × 44 h = 2,200 h, but 30 accounts at most per CSM: two CSMs are needed.
    assert pool.csms_needed == 2 and pool.gap == 1
    hire = next(h for h in report.hires if h.tier == "corporate")
    assert hire.level == "senior_csm"
    assert tuple(hire.base_range) == (95_000, 120_000)


def test_a_custom_segment_hires_a_csm_unless_it_names_a_level() -> None:
    accounts = [{"id": f"com-{i}", "arr": 20_000, "tier": "commercial"} for i in range(60)]
    book = book_of(accounts, [{"id": "c-com", "tiers": ["commercial"]}], tiers=OWN_SEGMENTS)
    hire = next(h for h in hiring_gaps(book).hires if h.tier == "commercial")
    assert hire.level == "csm"


@pytest.mark.parametrize(
    ("accounts", "csms", "field"),
    [
        (
            [{"id": "a", "arr": 1, "tier": "galactic"}],
            [{"id": "c", "tiers": ["enterprise"]}],
            "accounts[0].tier",
        ),
        (
            [{"id": "a", "arr": 1, "tier": "enterprise"}],
            [{"id": "c", "tiers": ["enterprise", "galactic"]}],
            "csms[0].tiers[1]",
        ),
    ],
)
def test_an_undefined_segment_is_refused_naming_it_and_the_known_ones(
    accounts: list[dict[str, Any]], csms: list[dict[str, Any]], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        book_of(accounts, csms, tiers=OWN_SEGMENTS)
    message = str(err.value)
    assert f"{field}: unknown segment 'galactic'" in message
    assert (
        "known segments: strategic, enterprise, mid_market, smb, tech_touch, commercial, corporate, majors"
        in message
    )


def test_a_segment_of_ones_own_without_a_service_model_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"policy.tiers.scale: segment 'scale' is not built in"):
        book_of([{"id": "a", "arr": 1, "tier": "scale"}], [], tiers={"scale": {"label": "Scale"}})


@pytest.mark.parametrize("name", ["Corporate", "9lives", "has-dash", "a" * 41, ""])
def test_a_segment_name_outside_the_pattern_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        book_of([{"id": "a", "arr": 1, "tier": name}], [], tiers={name: {"hours_per_year": 10}})


# ---------------------------------------------------------------- health


def test_a_red_account_loads_its_csm_with_the_red_multiple_of_its_hours() -> None:
    accounts = [
        {
            "id": "red",
            "arr": 1,
            "tier": "enterprise",
            "hours_per_year": 110,
            "health": "red",
            "current_csm": "c",
        },
        {
            "id": "green",
            "arr": 1,
            "tier": "enterprise",
            "hours_per_year": 110,
            "health": "green",
            "current_csm": "c",
        },
    ]
    book = book_of(accounts, [{"id": "c", "tiers": ["enterprise"]}], health_hours={"red": 1.5})
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.csm_loads[0].hours == pytest.approx(165 + 110)


@pytest.mark.parametrize(
    ("score", "health_hours"),
    [(49.9, 165.0), (50, 110 * 1.2), (74.9, 110 * 1.2), (75, 110.0), (100, 110.0)],
)
def test_a_health_score_falls_in_the_bands_below_50_red_below_75_yellow(
    score: float, health_hours: float
) -> None:
    accounts = [{"id": "a", "arr": 1, "tier": "enterprise", "hours_per_year": 110, "health_score": score}]
    book = book_of(accounts, [{"id": "c", "tiers": ["enterprise"]}], health_hours={"red": 1.5, "yellow": 1.2})
    plan = solve(book)
    assert_valid_plan(book, plan)
    assert plan.csm_loads[0].hours == pytest.approx(health_hours)


def test_health_multiplies_the_segment_service_model_and_not_a_pair_override() -> None:
    accounts = [{"id": "a", "arr": 1, "tier": "commercial", "health": "red"}]
    csms = [{"id": "c", "tiers": ["commercial"]}]
    book = Book.model_validate(
        {
            "accounts": accounts,
            "csms": csms,
            "pairs": [],
            "policy": {"as_of": AS_OF, "tiers": OWN_SEGMENTS, "health_hours": {"red": 2}},
        }
    )
    assert solve(book).csm_loads[0].hours == pytest.approx(60)
    data = book.model_dump(mode="json", by_alias=True)
    with_pair = Book.model_validate({**data, "pairs": [{"account": "a", "csm": "c", "hours": 25}]})
    assert solve(with_pair).csm_loads[0].hours == pytest.approx(25)


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"health_bands": {"red": 80, "yellow": 60}}, "health_bands"),
        ({"health_hours": {"red": 0}}, "health_hours.red"),
        ({"health_hours": {"red": True}}, "health_hours.red"),
        ({"health_hours": {"purple": 1.0}}, "health_hours.purple"),
    ],
)
def test_bad_health_policy_is_refused_naming_the_field(policy: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        book_of([], [], **policy)


def test_a_health_score_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValidationError, match="health_score"):
        book_of([{"id": "a", "arr": 1, "tier": "smb", "health_score": 101}], [])


# ---------------------------------------------------------------- CRM identities and metrics


def test_two_csms_may_not_share_an_email_or_a_crm_user_id() -> None:
    with pytest.raises(ValidationError, match=r"csms\[1\].email: 'DANA@x.com' is also the email of CSM 'c1'"):
        book_of(
            [],
            [
                {"id": "c1", "tiers": ["smb"], "email": "dana@x.com"},
                {"id": "c2", "tiers": ["smb"], "email": "DANA@x.com"},
            ],
        )
    with pytest.raises(ValidationError, match=r"csms\[1\].crm_user_id"):
        book_of(
            [],
            [
                {"id": "c1", "tiers": ["smb"], "crm_user_id": "005A"},
                {"id": "c2", "tiers": ["smb"], "crm_user_id": "005A"},
            ],
        )


def test_an_email_without_an_at_sign_is_refused() -> None:
    with pytest.raises(ValidationError, match="email"):
        book_of([], [{"id": "c1", "tiers": ["smb"], "email": "dana"}])


@pytest.mark.parametrize(
    ("metrics", "field"),
    [
        ({"arr_share": 0.1}, "balance_metrics.arr_share"),
        ({"arr": -0.1}, "balance_metrics.arr"),
        ({"arr": "wide"}, "balance_metrics.arr"),
    ],
)
def test_a_bad_balance_metric_is_refused_naming_it(metrics: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        book_of([], [], balance_metrics=metrics)


def test_red_accounts_balance_needs_some_health_data() -> None:
    accounts = [{"id": "a", "arr": 1, "tier": "smb"}]
    with pytest.raises(ValidationError, match=r"policy.balance_metrics.red_accounts: no account has health"):
        book_of(accounts, [], balance_metrics={"red_accounts": 0.5})
    book_of([{**accounts[0], "health_score": 10}], [], balance_metrics={"red_accounts": 0.5})


def test_handoffs_per_week_of_zero_is_refused() -> None:
    with pytest.raises(ValidationError, match="handoffs_per_week"):
        book_of([], [], handoffs_per_week=0)
