"""Every hard rule at its edges, against figures worked out by hand from CONTRACT.md and DOMAIN.md.

Each table is checked three times: against the engine's rule (`solver.policy`), against the referee's own
statement of it (`solver.validation_rules`), and through `validate_plan` on a hand-written plan. The expected
values are never computed by the code under test, so a wrong rule cannot agree with itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from solver import policy as engine_rules
from solver import validation_rules as referee_rules
from solver.schema import CSM, Account, Book, Plan, Policy
from solver.validation import validate_plan

AS_OF = dt.date(2026, 11, 22)


def days(n: int) -> str:
    """The date n days after the plan date (before it when negative), as the book writes it."""
    return (AS_OF + dt.timedelta(days=n)).isoformat()


def policy(**fields: Any) -> Policy:
    return Policy.model_validate({"as_of": AS_OF.isoformat(), **fields})


def an_account(**fields: Any) -> Account:
    return Account.model_validate({"id": "acme", "arr": 100_000, "tier": "enterprise", **fields})


def a_csm(**fields: Any) -> CSM:
    return CSM.model_validate({"id": "c-lee", "tiers": ["enterprise"], **fields})


# ---------------------------------------------------------------- the two statements of each rule


def engine_frozen(account: Account, pol: Policy) -> bool:
    return engine_rules.freeze_reason(account, pol) is not None


def referee_frozen(account: Account, pol: Policy) -> bool:
    return referee_rules.why_it_stays(account, pol, AS_OF) is not None


def engine_left(csm: CSM, pol: Policy) -> bool:
    return engine_rules.eligibility_problem(an_account(), csm, None, pol) is not None


def referee_left(csm: CSM, pol: Policy) -> bool:
    return referee_rules.pairing_problem(an_account(), csm, None, pol, AS_OF) is not None


def engine_capacity(csm: CSM, pol: Policy) -> float:
    return engine_rules.capacity_hours(csm, pol)


def referee_capacity(csm: CSM, pol: Policy) -> float:
    return referee_rules.capacity(csm, pol, AS_OF)


def engine_hours(account: Account, pol: Policy) -> float:
    return engine_rules.account_hours(account, pol)


def referee_hours(account: Account, pol: Policy) -> float:
    return referee_rules.service_hours(account, pol, AS_OF)


FROZEN = pytest.mark.parametrize("frozen", [engine_frozen, referee_frozen], ids=["engine", "referee"])
LEFT = pytest.mark.parametrize("left", [engine_left, referee_left], ids=["engine", "referee"])
CAPACITY = pytest.mark.parametrize("capacity", [engine_capacity, referee_capacity], ids=["engine", "referee"])
HOURS = pytest.mark.parametrize("hours", [engine_hours, referee_hours], ids=["engine", "referee"])


# ---------------------------------------------------------------- renewal freeze: "inside 90 days"

RENEWAL_DAYS = [(-1, False), (0, True), (89, True), (90, True), (91, False)]


@FROZEN
@pytest.mark.parametrize(("renews_in", "expected"), RENEWAL_DAYS)
def test_an_account_renewing_within_90_days_inclusive_stays_with_its_csm(
    frozen: Callable[[Account, Policy], bool], renews_in: int, expected: bool
) -> None:
    account = an_account(current_csm="c-ana", renewal_date=days(renews_in))
    assert frozen(account, policy()) is expected


@FROZEN
def test_the_renewal_window_follows_renewal_freeze_days(frozen: Callable[[Account, Policy], bool]) -> None:
    account = an_account(current_csm="c-ana", renewal_date=days(30))
    assert frozen(account, policy(renewal_freeze_days=30)) is True
    assert frozen(account, policy(renewal_freeze_days=29)) is False


# ---------------------------------------------------------------- onboarding freeze: "first 90 days"

ONBOARDING_DAYS = [(-1, False), (0, True), (89, True), (90, False), (91, False)]


@FROZEN
@pytest.mark.parametrize(("started_ago", "expected"), ONBOARDING_DAYS)
def test_an_account_in_its_first_90_days_stays_with_its_onboarding_csm(
    frozen: Callable[[Account, Policy], bool], started_ago: int, expected: bool
) -> None:
    # Day 0 is the start date itself; days 0 to 89 are the first 90 days.
    account = an_account(current_csm="c-ana", start_date=days(-started_ago))
    assert frozen(account, policy()) is expected


@FROZEN
def test_the_onboarding_window_follows_onboarding_freeze_days(
    frozen: Callable[[Account, Policy], bool],
) -> None:
    account = an_account(current_csm="c-ana", start_date=days(-30))
    assert frozen(account, policy(onboarding_freeze_days=31)) is True
    assert frozen(account, policy(onboarding_freeze_days=30)) is False


@FROZEN
def test_a_pin_holds_and_an_account_without_a_csm_has_nothing_to_keep(
    frozen: Callable[[Account, Policy], bool],
) -> None:
    assert frozen(an_account(current_csm="c-ana", pinned=True), policy()) is True
    assert frozen(an_account(current_csm="c-ana"), policy()) is False
    assert frozen(an_account(renewal_date=days(10), start_date=days(-10)), policy()) is False


# ---------------------------------------------------------------- leaving: "end_date on or before as_of"

END_DATES = [(-1, True), (0, True), (1, False)]


@LEFT
@pytest.mark.parametrize(("ends_in", "expected"), END_DATES)
def test_a_csm_whose_end_date_is_on_or_before_the_plan_date_has_left(
    left: Callable[[CSM, Policy], bool], ends_in: int, expected: bool
) -> None:
    assert left(a_csm(end_date=days(ends_in)), policy()) is expected


@CAPACITY
@pytest.mark.parametrize(("ends_in", "expected"), [(-1, 0.0), (0, 0.0), (1, 1460 / 365), (73, 292.0)])
def test_a_leaving_csm_gives_the_days_left_before_the_end_date(
    capacity: Callable[[CSM, Policy], float], ends_in: int, expected: float
) -> None:
    # 1,460 h a year (set here so the figures are round): one day is 4 h, 73 days are a fifth of a year.
    assert capacity(a_csm(capacity_hours=1460, end_date=days(ends_in)), policy()) == pytest.approx(expected)


@CAPACITY
@pytest.mark.parametrize("ended", [-1, 0])
def test_a_csm_who_left_while_still_ramping_gives_nothing(
    capacity: Callable[[CSM, Policy], float], ended: int
) -> None:
    assert capacity(a_csm(start_date=days(-10), end_date=days(ended)), policy()) == 0.0


# ---------------------------------------------------------------- FTE: "policy.capacity_hours × fte"

FTE_CASES = [
    ({"fte": 0.5}, {}, 780.0),
    ({"fte": 0.5}, {"capacity_hours": 2000}, 1000.0),
    ({"fte": 0.5, "capacity_hours": 1000}, {}, 1000.0),
    ({"fte": 1.0}, {}, 1560.0),
    ({"fte": 0.25, "capacity_hours": 300}, {"capacity_hours": 2000}, 300.0),
]


@CAPACITY
@pytest.mark.parametrize(("csm_fields", "policy_fields", "expected"), FTE_CASES)
def test_a_part_time_csm_gets_the_policy_hours_times_fte_unless_their_own_hours_are_given(
    capacity: Callable[[CSM, Policy], float],
    csm_fields: dict[str, Any],
    policy_fields: dict[str, Any],
    expected: float,
) -> None:
    assert capacity(a_csm(**csm_fields), policy(**policy_fields)) == pytest.approx(expected)


# ---------------------------------------------------------------- ramp: "0 to full over ramp_days"

# With a 90-day ramp the level climbs 0 → 1, so the ramp costs a triangle of 90 × 1 / 2 = 45 full days.
# Started today: 365 - 45 = 320 days of 365. Started 45 days ago: the level is 0.5 and the rest of the
# triangle is 45 × 0.5 / 2 = 11.25 days: 353.75 of 365. Started 90 days ago: full. Starting in 45 days:
# 45 idle days and the 45-day triangle: 275 of 365.
RAMP_CASES = [
    (0, 1560 * 320 / 365),
    (45, 1560 * 353.75 / 365),
    (90, 1560.0),
    (91, 1560.0),
    (-45, 1560 * 275 / 365),
]


@CAPACITY
@pytest.mark.parametrize(("started_ago", "expected"), RAMP_CASES)
def test_a_ramping_csm_gives_the_hours_of_a_linear_ramp_over_the_coming_year(
    capacity: Callable[[CSM, Policy], float], started_ago: int, expected: float
) -> None:
    assert capacity(a_csm(start_date=days(-started_ago)), policy()) == pytest.approx(expected)


@CAPACITY
def test_a_ramp_of_zero_days_gives_full_speed_from_the_start_date(
    capacity: Callable[[CSM, Policy], float],
) -> None:
    assert capacity(a_csm(start_date=days(0)), policy(ramp_days=0)) == pytest.approx(1560.0)
    assert capacity(a_csm(start_date=days(-73)), policy(ramp_days=0)) == pytest.approx(1560.0)
    assert capacity(a_csm(start_date=days(73)), policy(ramp_days=0)) == pytest.approx(1248.0)


@CAPACITY
def test_a_half_time_csm_ramping_and_leaving_has_every_factor_applied(
    capacity: Callable[[CSM, Policy], float],
) -> None:
    # Started 90 days before, half time, leaving in 146 days (two fifths of a year): 1,560 × 0.5 × 0.4.
    csm = a_csm(fte=0.5, start_date=days(-90), end_date=days(146))
    assert capacity(csm, policy()) == pytest.approx(312.0)


# ---------------------------------------------------------------- first contract year: onboarding hours

# Enterprise (DOMAIN.md, seeds/002): 4 QBRs × 4 h + 24 check-ins × 1 h + 20 h onboarding (first year only)
# + 6 h renewal prep + 44 h escalations = 110 h in the first contract year, 90 h after it.
FIRST_YEAR_CASES = [(0, 110.0), (364, 110.0), (365, 90.0), (366, 90.0), (None, 110.0)]


@HOURS
@pytest.mark.parametrize(("started_ago", "expected"), FIRST_YEAR_CASES)
def test_onboarding_hours_count_in_the_first_contract_year_only(
    hours: Callable[[Account, Policy], float], started_ago: int | None, expected: float
) -> None:
    start = None if started_ago is None else days(-started_ago)
    assert hours(an_account(start_date=start), policy()) == pytest.approx(expected)


@HOURS
@pytest.mark.parametrize(
    ("tier", "first_year", "later"),
    [("strategic", 200.0, 160.0), ("mid_market", 30.0, 26.0), ("smb", 10.0, 6.0)],
)
def test_each_service_model_drops_its_onboarding_hours_after_the_first_year(
    hours: Callable[[Account, Policy], float], tier: str, first_year: float, later: float
) -> None:
    # strategic: 12×4 + 4×8 + 2×16 + 40 onboarding + 12 + 36; mid_market: 12×1.5 + 2×3 + 4 onboarding + 2;
    # smb: 4 onboarding + 4×0.75 + 1 + 2.
    assert hours(an_account(tier=tier, start_date=days(-10)), policy()) == pytest.approx(first_year)
    assert hours(an_account(tier=tier, start_date=days(-400)), policy()) == pytest.approx(later)


@HOURS
def test_an_accounts_own_hours_and_a_tiers_flat_hours_replace_the_service_model(
    hours: Callable[[Account, Policy], float],
) -> None:
    assert hours(an_account(hours_per_year=55, start_date=days(-400)), policy()) == 55
    flat = policy(tiers={"enterprise": {"hours_per_year": 70}})
    assert hours(an_account(start_date=days(-10)), flat) == 70
    custom = policy(
        tiers={
            "enterprise": {
                "activities": [{"name": "kickoff", "count": 1, "hours": 8, "first_year_only": True}]
            }
        }
    )
    assert hours(an_account(start_date=days(-10)), custom) == 8
    assert hours(an_account(start_date=days(-400)), custom) == 0


def test_a_pairs_hours_replace_the_accounts_hours_for_that_csm_only() -> None:
    book = Book.model_validate(
        {
            "accounts": [{"id": "acme", "arr": 1, "tier": "enterprise", "hours_per_year": 100}],
            "csms": [{"id": "c-lee", "tiers": ["enterprise"]}, {"id": "c-ana", "tiers": ["enterprise"]}],
            "pairs": [{"account": "acme", "csm": "c-lee", "hours": 130}],
        }
    )
    account, pair = book.accounts[0], book.pairs[0]
    assert engine_rules.pair_hours(account, pair, policy()) == 130
    assert referee_rules.hours_when_served_by(account, pair, policy(), AS_OF) == 130
    assert engine_rules.pair_hours(account, None, policy()) == 100
    assert referee_rules.hours_when_served_by(account, None, policy(), AS_OF) == 100


# ---------------------------------------------------------------- caps: own, else the tiers' defaults

ARR_CAP_CASES: list[tuple[list[str], dict[str, Any], dict[str, Any], float | None]] = [
    (["enterprise"], {}, {}, 15_000_000),
    (["mid_market"], {}, {}, 5_000_000),
    (["enterprise", "mid_market"], {}, {}, 15_000_000),
    (["enterprise", "strategic"], {}, {}, None),
    (["enterprise"], {"arr_cap": 9_000_000}, {}, 9_000_000),
    (["enterprise"], {}, {"enterprise": {"arr_cap": 8_000_000}}, 8_000_000),
    (["enterprise"], {}, {"enterprise": {"arr_cap": None}}, None),
]


@pytest.mark.parametrize(("tiers", "csm_fields", "tier_policy", "expected"), ARR_CAP_CASES)
def test_a_csms_arr_cap_is_their_own_else_the_largest_of_their_tiers(
    tiers: list[str], csm_fields: dict[str, Any], tier_policy: dict[str, Any], expected: float | None
) -> None:
    csm, pol = a_csm(tiers=tiers, **csm_fields), policy(tiers=tier_policy)
    assert engine_rules.csm_arr_cap(csm, pol) == expected
    assert referee_rules.arr_cap(csm, pol) == expected


MAX_ACCOUNTS_CASES: list[tuple[list[str], dict[str, Any], dict[str, Any], int | None]] = [
    (["strategic"], {}, {}, 8),
    (["enterprise"], {}, {}, 20),
    (["strategic", "mid_market"], {}, {}, 75),
    (["smb", "tech_touch"], {}, {}, None),
    (["enterprise"], {"max_accounts": 12}, {}, 12),
    (["enterprise"], {}, {"enterprise": {"max_accounts": 14}}, 14),
]


@pytest.mark.parametrize(("tiers", "csm_fields", "tier_policy", "expected"), MAX_ACCOUNTS_CASES)
def test_a_csms_book_size_cap_is_their_own_else_the_largest_of_their_tiers(
    tiers: list[str], csm_fields: dict[str, Any], tier_policy: dict[str, Any], expected: int | None
) -> None:
    csm, pol = a_csm(tiers=tiers, **csm_fields), policy(tiers=tier_policy)
    assert engine_rules.csm_max_accounts(csm, pol) == expected
    assert referee_rules.account_cap(csm, pol) == expected


# ---------------------------------------------------------------- who may serve whom


def test_each_pairwise_rule_excludes_a_csm_in_both_statements() -> None:
    pol = policy()
    cases: list[tuple[Account, CSM, bool]] = [
        (an_account(), a_csm(), True),
        (an_account(tier="smb"), a_csm(), False),
        (an_account(region="EMEA"), a_csm(regions=["NA"]), False),
        (an_account(region="EMEA"), a_csm(regions=["NA", "EMEA"]), True),
        (an_account(region="EMEA"), a_csm(), True),
        (an_account(), a_csm(regions=["NA"]), True),
        (an_account(language="de"), a_csm(languages=["en"]), False),
        (an_account(), a_csm(accepting_new=False), False),
        (an_account(current_csm="c-lee"), a_csm(accepting_new=False), True),
    ]
    for account, csm, allowed in cases:
        assert (engine_rules.eligibility_problem(account, csm, None, pol) is None) is allowed, (account, csm)
        assert (referee_rules.pairing_problem(account, csm, None, pol, AS_OF) is None) is allowed, (
            account,
            csm,
        )


@pytest.mark.parametrize("rule", ["region_match", "language_match"])
@pytest.mark.parametrize(("setting", "allowed"), [("hard", False), ("soft", True), ("off", True)])
def test_region_and_language_exclude_only_when_hard(rule: str, setting: str, allowed: bool) -> None:
    account, csm = an_account(region="EMEA", language="de"), a_csm(regions=["NA"], languages=["en"])
    other = "language_match" if rule == "region_match" else "region_match"
    pol = policy(**{rule: setting, other: "off"})
    assert (engine_rules.eligibility_problem(account, csm, None, pol) is None) is allowed
    assert (referee_rules.pairing_problem(account, csm, None, pol, AS_OF) is None) is allowed


def test_a_banned_pair_is_excluded_and_an_allowed_one_is_not() -> None:
    book = Book.model_validate(
        {
            "accounts": [{"id": "acme", "arr": 1, "tier": "enterprise"}],
            "csms": [{"id": "c-lee", "tiers": ["enterprise"]}],
            "pairs": [{"account": "acme", "csm": "c-lee", "allowed": False}],
        }
    )
    account, csm, banned = book.accounts[0], book.csms[0], book.pairs[0]
    allowed = banned.model_copy(update={"allowed": True})
    assert engine_rules.eligibility_problem(account, csm, banned, policy()) is not None
    assert referee_rules.pairing_problem(account, csm, banned, policy(), AS_OF) is not None
    assert engine_rules.eligibility_problem(account, csm, allowed, policy()) is None
    assert referee_rules.pairing_problem(account, csm, allowed, policy(), AS_OF) is None


# ---------------------------------------------------------------- the validator, end to end


def two_csm_book(account: dict[str, Any], lee: dict[str, Any] | None = None, **pol: Any) -> dict[str, Any]:
    """acme (100 h, 100k ARR) belongs to c-ana; c-ana and c-lee give 1,000 h each, enterprise caps."""
    return {
        "accounts": [
            {"id": "acme", "arr": 100_000, "tier": "enterprise", "hours_per_year": 100, "current_csm": "c-ana",
             **account},
        ],
        "csms": [
            {"id": "c-ana", "tiers": ["enterprise"], "capacity_hours": 1000},
            {"id": "c-lee", "tiers": ["enterprise"], "capacity_hours": 1000, **(lee or {})},
        ],
        "policy": {"as_of": AS_OF.isoformat(), **pol},
    }  # fmt: skip


def load(csm: str, hours: float, capacity: float, arr: float, accounts: int, **extra: Any) -> dict[str, Any]:
    utilization = hours / capacity if capacity else 0.0
    return {
        "csm": csm,
        "hours": hours,
        "capacity_hours": capacity,
        "utilization": utilization,
        "arr": arr,
        "arr_cap": extra.get("arr_cap", 15_000_000),
        "accounts": accounts,
    }


def moved_plan(lee_capacity: float = 1000, lee_arr_cap: float = 15_000_000) -> dict[str, Any]:
    """acme moved from c-ana to c-lee; loads by hand."""
    utilization = 100 / lee_capacity
    return {
        "status": "feasible",
        "assignments": [{"account": "acme", "csm": "c-lee"}],
        "moves": [{"account": "acme", "from": "c-ana", "to": "c-lee", "reason": "balance"}],
        "csm_loads": [
            load("c-ana", 0.0, 1000, 0, 0),
            load("c-lee", 100.0, lee_capacity, 100_000, 1, arr_cap=lee_arr_cap),
        ],
        "max_utilization": utilization,
        "max_utilization_bound": 0.0,
        "solver": {"version": "test", "seconds": 0.0, "seed": 0, "input_sha256": "0" * 64},
    }


def broken(book: dict[str, Any], plan: dict[str, Any]) -> set[str]:
    """The rules the hand-written plan breaks, the handoff schedule's aside (its own tests are in
    test_handoffs.py; these plans carry no schedule)."""
    violations = validate_plan(Book.model_validate(book), Plan.model_validate(plan))
    return {v.rule for v in violations if not v.rule.startswith("handoff")}


def test_the_hand_written_moved_plan_is_valid() -> None:
    assert broken(two_csm_book({}), moved_plan()) == set()


@pytest.mark.parametrize(("renews_in", "expected"), RENEWAL_DAYS)
def test_the_validator_refuses_a_move_inside_the_renewal_freeze(renews_in: int, expected: bool) -> None:
    assert ("freeze" in broken(two_csm_book({"renewal_date": days(renews_in)}), moved_plan())) is expected


@pytest.mark.parametrize(("started_ago", "expected"), ONBOARDING_DAYS)
def test_the_validator_refuses_a_move_inside_the_onboarding_freeze(started_ago: int, expected: bool) -> None:
    # 100 h explicit, so the first contract year does not change the load.
    book = two_csm_book({"start_date": days(-started_ago)})
    assert ("freeze" in broken(book, moved_plan())) is expected


@pytest.mark.parametrize(("ends_in", "expected"), END_DATES)
def test_the_validator_refuses_an_account_given_to_a_csm_who_has_left(ends_in: int, expected: bool) -> None:
    book = two_csm_book({}, {"end_date": days(ends_in)})
    lee_capacity = 1000 * max(0, ends_in) / 365
    assert ("eligibility" in broken(book, moved_plan(lee_capacity or 1000))) is expected


@pytest.mark.parametrize(
    ("lee", "pol", "capacity"),
    [
        ({"capacity_hours": None, "fte": 0.5}, {}, 780.0),
        ({"capacity_hours": None, "fte": 0.5}, {"capacity_hours": 2000}, 1000.0),
        ({"capacity_hours": 1000, "fte": 0.5}, {}, 1000.0),
        ({"start_date": days(0)}, {}, 1000 * 320 / 365),
        ({"start_date": days(-45)}, {}, 1000 * 353.75 / 365),
        ({"start_date": days(-90)}, {}, 1000.0),
    ],
)
def test_the_validator_checks_reported_capacity_against_the_hand_figure(
    lee: dict[str, Any], pol: dict[str, Any], capacity: float
) -> None:
    book = two_csm_book({}, lee, **pol)
    assert broken(book, moved_plan(capacity)) == set()
    assert broken(book, moved_plan(capacity + 2)) == {"csm_loads"}


@pytest.mark.parametrize(("started_ago", "hours"), [(364, 110.0), (365, 90.0), (366, 90.0)])
def test_the_validator_counts_onboarding_hours_in_the_first_contract_year_only(
    started_ago: int, hours: float
) -> None:
    book = two_csm_book({"hours_per_year": None, "start_date": days(-started_ago)})
    plan = moved_plan()
    plan["csm_loads"][1] = load("c-lee", hours, 1000, 100_000, 1)
    plan["max_utilization"] = hours / 1000
    assert broken(book, plan) == set()
    plan["csm_loads"][1] = load("c-lee", 200 - hours, 1000, 100_000, 1)
    plan["max_utilization"] = (200 - hours) / 1000
    assert broken(book, plan) == {"csm_loads", "max_utilization"}


@pytest.mark.parametrize(("arr", "over"), [(1_000_000, False), (1_000_001, True)])
def test_the_validator_accepts_arr_exactly_at_the_cap_and_refuses_one_unit_more(arr: int, over: bool) -> None:
    book = two_csm_book({"arr": arr}, {"arr_cap": 1_000_000})
    plan = moved_plan(lee_arr_cap=1_000_000)
    plan["csm_loads"][1]["arr"] = arr
    assert broken(book, plan) == ({"arr_cap"} if over else set())


@pytest.mark.parametrize(("cap", "over"), [(2, False), (1, True)])
def test_the_validator_accepts_max_accounts_exactly_at_the_cap_and_refuses_one_more(
    cap: int, over: bool
) -> None:
    book = two_csm_book({}, {"max_accounts": cap})
    book["accounts"].append(
        {"id": "initech", "arr": 50_000, "tier": "enterprise", "hours_per_year": 50, "current_csm": "c-lee"}
    )
    plan = moved_plan()
    plan["assignments"].append({"account": "initech", "csm": "c-lee"})
    plan["csm_loads"][1] = load("c-lee", 150.0, 1000, 150_000, 2)
    plan["max_utilization"] = 0.15
    assert broken(book, plan) == ({"max_accounts"} if over else set())


@pytest.mark.parametrize(("hours", "over"), [(1000, False), (1000.01, True)])
def test_the_validator_accepts_hours_exactly_at_capacity_and_refuses_a_hundredth_more(
    hours: float, over: bool
) -> None:
    book = two_csm_book({"hours_per_year": hours})
    plan = moved_plan()
    plan["csm_loads"][1] = load("c-lee", hours, 1000, 100_000, 1)
    plan["max_utilization"] = hours / 1000
    assert broken(book, plan) == ({"capacity_hours"} if over else set())


def test_the_validator_compares_the_reported_account_count_of_each_csm() -> None:
    plan = moved_plan()
    plan["csm_loads"][1]["accounts"] = 2
    assert broken(two_csm_book({}), plan) == {"csm_loads"}


def test_the_validator_compares_the_reported_arr_and_arr_cap_of_each_csm() -> None:
    plan = moved_plan()
    plan["csm_loads"][1]["arr"] = 100_002
    assert broken(two_csm_book({}), plan) == {"csm_loads"}
    assert broken(two_csm_book({}, {"arr_cap": 500_000}), moved_plan()) == {"csm_loads"}
    assert broken(two_csm_book({}), moved_plan(lee_arr_cap=500_000)) == {"csm_loads"}


def test_the_validator_compares_the_reported_utilization_of_each_csm() -> None:
    # c-lee carries 100 h of 1,000 h: 0.1, and 0.101 is more than the rounding to three decimals allows.
    plan = moved_plan()
    plan["csm_loads"][1]["utilization"] = 0.101
    assert broken(two_csm_book({}), plan) == {"csm_loads"}
    plan["csm_loads"][1]["utilization"] = 0.1004
    assert broken(two_csm_book({}), plan) == set()


# ---------------------------------------------------------------- the engine, end to end


@pytest.mark.parametrize(("renews_in", "mover"), [(90, "globex"), (91, "acme")])
def test_the_engine_keeps_an_account_renewing_on_day_90_and_moves_it_on_day_91(
    make_book: Callable[..., Book], solve_book: Callable[[Book], Plan], renews_in: int, mover: str
) -> None:
    # c-ana carries both (0.2), c-lee none: one move brings both to the mean of 0.1, and the cheaper move
    # is acme (50k ARR), unless acme is frozen.
    book = make_book(
        [
            {
                "id": "acme",
                "hours_per_year": 100,
                "arr": 50_000,
                "current_csm": "c-ana",
                "renewal_date": days(renews_in),
            },
            {"id": "globex", "hours_per_year": 100, "arr": 100_000, "current_csm": "c-ana"},
        ],
        [{"id": "c-ana", "capacity_hours": 1000}, {"id": "c-lee", "capacity_hours": 1000}],
        balance_tolerance=0.05,
    )
    plan = solve_book(book)
    assert [(m.account, m.from_, m.to) for m in plan.moves] == [(mover, "c-ana", "c-lee")]


@pytest.mark.parametrize(("cap", "served"), [(300_000, 2), (299_999, 1)])
def test_the_engine_fills_a_csm_to_exactly_the_arr_cap_and_not_one_unit_over(
    make_book: Callable[..., Book], solve_book: Callable[[Book], Plan], cap: int, served: int
) -> None:
    book = make_book(
        [
            {"id": "big", "hours_per_year": 100, "arr": 200_000},
            {"id": "small", "hours_per_year": 100, "arr": 100_000},
        ],
        [{"id": "c-ana", "capacity_hours": 1000, "arr_cap": cap}],
    )
    assert len(solve_book(book).assignments) == served


@pytest.mark.parametrize(("ends_in", "served"), [(0, 0), (1, 1)])
def test_the_engine_gives_nothing_to_a_csm_whose_end_date_is_the_plan_date(
    make_book: Callable[..., Book], solve_book: Callable[[Book], Plan], ends_in: int, served: int
) -> None:
    # One day left of a 3,650 h year is 10 h: room for a 2 h account.
    book = make_book(
        [{"id": "tiny", "hours_per_year": 2, "current_csm": "c-ana"}],
        [{"id": "c-ana", "capacity_hours": 3650, "end_date": days(ends_in)}],
    )
    assert len(solve_book(book).assignments) == served
