"""The hiring-gap report: the seeds' arithmetic, the hard rules binding the need, the horizon and what-ifs."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from typing import Any

import pytest

from solver.errors import BookError
from solver.gaps import (
    UNCAPPED,
    GapReport,
    GapRequest,
    _Packer,
    arr_rule_csms,
    gap_request_from_data,
    hiring_gaps,
)
from solver.schema import Book

AS_OF = "2026-11-22"


def book(accounts: Sequence[dict[str, Any]], csms: Sequence[dict[str, Any]] = (), **policy: Any) -> Book:
    """Accounts default to enterprise NA with $100k ARR; CSMs to enterprise NA."""
    return Book.model_validate(
        {
            "accounts": [{"arr": 100_000, "tier": "enterprise", "region": "NA", **a} for a in accounts],
            "csms": [{"tiers": ["enterprise"], "regions": ["NA"], **c} for c in csms],
            "policy": {"as_of": AS_OF, **policy},
        }
    )


def accounts(n: int, hours: float, prefix: str = "a", **fields: Any) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "hours_per_year": hours, **fields} for i in range(n)]


def only_pool(report: GapReport) -> Any:
    assert len(report.pools) == 1
    return report.pools[0]


# ---------------------------------------------------------------- the seeds' arithmetic


def test_a_full_time_csm_serves_1950_hours_less_20_percent_overhead_1560_hours() -> None:
    pool = only_pool(hiring_gaps(book(accounts(1, 110))))
    assert pool.profile.capacity_hours == 1950 * 0.8 == 1560
    half_time = book(accounts(1, 110), csms=[{"id": "c-half", "tiers": ["enterprise"], "fte": 0.5}])
    assert only_pool(hiring_gaps(half_time)).capacity_hours == 780


def test_fourteen_110_hour_enterprise_accounts_need_one_csm() -> None:
    pool = only_pool(hiring_gaps(book(accounts(14, 110))))
    assert (pool.csms_needed, pool.proven, pool.demand_hours) == (1, True, 1540)


def test_fifteen_110_hour_enterprise_accounts_need_two_csms() -> None:
    pool = only_pool(hiring_gaps(book(accounts(15, 110))))
    assert (pool.csms_needed, pool.proven) == (2, True)


def test_two_900_hour_strategic_accounts_need_two_csms_not_a_division() -> None:
    report = hiring_gaps(book(accounts(2, 900, tier="strategic", arr=400_000)))
    pool = only_pool(report)
    assert (pool.demand_hours, pool.profile.capacity_hours) == (1800, 1560)
    assert (pool.tier, pool.csms_needed, pool.proven) == ("strategic", 2, True)


def test_fourteen_enterprise_accounts_of_1_2m_need_two_csms_under_the_15m_arr_cap() -> None:
    pool = only_pool(hiring_gaps(book(accounts(14, 110, arr=1_200_000))))
    assert pool.profile.arr_cap == 15_000_000
    assert (pool.csms_needed, pool.proven) == (2, True)


def test_the_book_size_cap_binds_before_hours_do() -> None:
    pool = only_pool(hiring_gaps(book(accounts(21, 10))))
    assert pool.profile.max_accounts == 20
    assert pool.csms_needed == 2
    assert only_pool(hiring_gaps(book(accounts(20, 10)))).csms_needed == 1


def test_tier_overrides_of_the_policy_change_the_profile() -> None:
    pool = only_pool(hiring_gaps(book(accounts(15, 110), tiers={"enterprise": {"max_accounts": 10}})))
    assert (pool.profile.max_accounts, pool.csms_needed) == (10, 2)


# ---------------------------------------------------------------- parents and pins


def test_parents_kept_together_need_more_csms_than_loose_accounts() -> None:
    loose = only_pool(hiring_gaps(book(accounts(6, 500))))
    parents = only_pool(
        hiring_gaps(
            book([{"id": f"a{i}", "hours_per_year": 500, "parent_id": f"p{i % 3}"} for i in range(6)])
        )
    )
    # Six 500 h accounts pack three to a CSM; three 1,000 h parent companies cannot share one.
    assert (loose.csms_needed, parents.csms_needed) == (2, 3)


def test_a_parent_larger_than_one_csm_counts_as_one_csm_of_its_own_and_says_so() -> None:
    report = hiring_gaps(
        book([{"id": f"a{i}", "hours_per_year": 300, "parent_id": "mega"} for i in range(6)])
    )
    pool = only_pool(report)
    assert pool.csms_needed == 1
    assert any("parent mega" in note and "more than one CSM" in note for note in pool.notes)


def test_an_account_larger_than_a_csm_needs_a_csm_for_itself() -> None:
    pool = only_pool(
        hiring_gaps(book(accounts(1, 1800, "big", tier="strategic") + accounts(3, 200, tier="strategic")))
    )
    assert (pool.csms_needed, pool.proven) == (2, True)
    assert any(note.startswith("account big0: 1,800 h") for note in pool.notes)


def test_an_oversized_account_with_its_csm_uses_that_csm_rather_than_a_hire() -> None:
    big = accounts(1, 1800, "big", tier="strategic", current_csm="c0")
    team: list[dict[str, Any]] = [
        {"id": "c0", "tiers": ["strategic"]},
        {"id": "c1", "tiers": ["strategic"], "accepting_new": False},
    ]
    for pinned in (False, True):
        report = hiring_gaps(book([{**big[0], "pinned": pinned}], team))
        pool = only_pool(report)
        assert (pool.csms_needed, pool.gap) == (1, -1)
        assert report.hires == []
    # The same account with a CSM who takes no new accounts: a hire of its own.
    held = hiring_gaps(book([{**big[0], "current_csm": None}], team[1:]))
    assert only_pool(held).gap == 1


def test_pinned_accounts_hold_their_csms_and_raise_the_need() -> None:
    free = only_pool(hiring_gaps(book(accounts(4, 400), [{"id": "c0"}, {"id": "c1"}, {"id": "c2"}])))
    pinned = only_pool(
        hiring_gaps(
            book(
                [
                    {"id": "a0", "hours_per_year": 400, "current_csm": "c0", "pinned": True},
                    {"id": "a1", "hours_per_year": 400, "current_csm": "c0", "pinned": True},
                    {"id": "a2", "hours_per_year": 400, "current_csm": "c1", "pinned": True},
                    {"id": "a3", "hours_per_year": 400, "current_csm": "c2", "pinned": True},
                ],
                [{"id": "c0"}, {"id": "c1"}, {"id": "c2"}],
            )
        )
    )
    assert (free.csms_needed, pinned.csms_needed) == (2, 3)
    assert free.gap == -1  # one CSM to spare when nothing is pinned


def _two_pinned_csms(free: list[dict[str, Any]]) -> Book:
    pins = [{"id": f"p{c}", "hours_per_year": 1000, "current_csm": f"c{c}", "pinned": True} for c in (0, 1)]
    return book(pins + free, [{"id": "c0"}, {"id": "c1"}])


def test_free_accounts_fill_the_spare_hours_of_pinned_csms() -> None:
    # 2 x 560 h spare take ten 100 h accounts: no third CSM.
    pool = only_pool(hiring_gaps(_two_pinned_csms(accounts(10, 100, "f"))))
    assert (pool.csms_needed, pool.gap, pool.unserved_accounts, pool.proven) == (2, 0, 0, True)


def test_a_free_account_too_big_for_the_pinned_csms_spare_hours_needs_a_third_csm() -> None:
    # 1,000 h free is less than the 1,120 h spare in total, but fits neither CSM.
    pool = only_pool(hiring_gaps(_two_pinned_csms(accounts(1, 1000, "f"))))
    assert (pool.csms_needed, pool.gap, pool.unserved_accounts, pool.proven) == (3, 1, 1, True)


def test_an_account_inside_its_renewal_window_counts_like_a_pin() -> None:
    def renewing(i: int, csm: str, renewal: str) -> dict[str, Any]:
        return {"id": f"a{i}", "hours_per_year": 400, "current_csm": csm, "renewal_date": renewal}

    csms = [{"id": "c0"}, {"id": "c1"}, {"id": "c2"}]
    holders = ["c0", "c0", "c1", "c2"]
    soon = [renewing(i, c, "2026-12-15") for i, c in enumerate(holders)]
    later = [renewing(i, c, "2027-09-01") for i, c in enumerate(holders)]
    assert only_pool(hiring_gaps(book(soon, csms))).csms_needed == 3
    assert only_pool(hiring_gaps(book(later, csms))).csms_needed == 2


def test_frozen_accounts_overloading_their_csm_are_flagged() -> None:
    frozen = [{"id": f"a{i}", "hours_per_year": 800, "current_csm": "c0", "pinned": True} for i in range(2)]
    pool = only_pool(hiring_gaps(book(frozen, [{"id": "c0"}])))
    assert pool.csms_needed == 1
    assert any(note.startswith("c0: pinned and frozen accounts alone exceed") for note in pool.notes)


# ---------------------------------------------------------------- the horizon


def test_a_leaver_next_quarter_shows_the_hire_in_that_quarter_hired_lead_time_plus_ramp_earlier() -> None:
    report = hiring_gaps(book(accounts(14, 110, current_csm="c0"), [{"id": "c0", "end_date": "2027-02-15"}]))
    assert only_pool(report).gap == 0  # enough today
    assert len(report.hires) == 1
    hire = report.hires[0]
    assert hire.quarter == "2027-Q1"
    assert hire.needed_by == dt.date(2027, 1, 1)
    assert hire.hire_by == dt.date(2027, 1, 1) - dt.timedelta(days=60 + 90)
    assert hire.late  # 2026-08-04 has passed on 2026-11-22
    assert (hire.tier, hire.region, hire.level) == ("enterprise", "NA", "senior_csm")
    q1 = report.quarters[0]
    assert (q1.label, q1.pools[0].new_hires, q1.pools[0].csms_available) == ("2027-Q1", 1, 0.5)


def test_hiring_lead_and_ramp_can_be_overridden_per_request() -> None:
    leaver = book(accounts(14, 110, current_csm="c0"), [{"id": "c0", "end_date": "2027-08-15"}])
    report = hiring_gaps(leaver, GapRequest(hiring_lead_days=30, ramp_days=30))
    (hire,) = report.hires
    assert (hire.needed_by, hire.hire_by, hire.late) == (dt.date(2027, 7, 1), dt.date(2027, 5, 2), False)


def test_a_ramping_csm_counts_by_the_ramp() -> None:
    # A CSM who starts on 2027-01-01 with a 90-day ramp gives about half a CSM over 2027-Q1, a full one after.
    report = hiring_gaps(book(accounts(10, 100), [{"id": "c0", "start_date": "2027-01-01"}]))
    available = [q.pools[0].csms_available for q in report.quarters]
    assert available == [0.49, 1.0, 1.0, 1.0]  # the ramp's average over 90 days: 44.5 / 90
    pool = only_pool(report)
    assert pool.csms_available == 0 and pool.gap == 1


def test_growth_puts_each_hire_in_the_quarter_demand_outgrows_the_team() -> None:
    grown = book(accounts(12, 110, current_csm="c0"), [{"id": "c0"}])
    report = hiring_gaps(grown, GapRequest(growth={"enterprise": {"accounts_per_quarter": 0.10}}))
    counts = [q.pools[0].accounts for q in report.quarters]
    assert counts == [13, 15, 16, 18]  # 12 x 1.1^q, rounded
    (hire,) = report.hires
    assert hire.quarter == "2027-Q2"  # 15 x 110 h > 1,560 h
    assert [q.pools[0].hires_needed for q in report.quarters] == [0, 1, 1, 1]


def test_arr_growth_can_push_a_pool_past_its_arr_cap() -> None:
    rich = book(accounts(10, 100, arr=1_300_000, current_csm="c0"), [{"id": "c0"}])
    report = hiring_gaps(rich, GapRequest(growth={"enterprise": {"arr_per_quarter": 0.10}}))
    assert [q.pools[0].csms_needed for q in report.quarters] == [1, 2, 2, 2]  # $14.3M, $15.7M, ...


def test_a_tier_shrinking_by_100_percent_needs_nobody() -> None:
    report = hiring_gaps(
        book(accounts(30, 110)), GapRequest(growth={"enterprise": {"accounts_per_quarter": -1.0}})
    )
    assert [q.pools[0].accounts for q in report.quarters] == [0, 0, 0, 0]
    assert [q.pools[0].csms_needed for q in report.quarters] == [0, 0, 0, 0]


def test_the_horizon_runs_quarter_by_quarter_from_the_next_calendar_quarter() -> None:
    report = hiring_gaps(book(accounts(1, 100)), GapRequest(horizon_quarters=12))
    assert [q.label for q in report.quarters][:2] == ["2027-Q1", "2027-Q2"]
    assert report.quarters[-1].label == "2029-Q4"
    assert report.quarters[-1].end == dt.date(2029, 12, 31)


# ---------------------------------------------------------------- what-if


def test_removing_a_csm_opens_a_gap_without_touching_the_stored_book() -> None:
    stored = book(accounts(20, 110, current_csm="c0"), [{"id": "c0"}, {"id": "c1"}])
    before = stored.model_dump()
    assert only_pool(hiring_gaps(stored)).gap == 0
    pool = only_pool(hiring_gaps(stored, GapRequest(remove_csms=["c1"])))
    assert (pool.csms, pool.csms_needed, pool.gap) == (1, 2, 1)
    assert stored.model_dump() == before


def test_adding_a_csm_closes_the_gap() -> None:
    short = book(accounts(20, 110, current_csm="c0"), [{"id": "c0"}])
    assert only_pool(hiring_gaps(short)).gap == 1
    extra = {"id": "new", "tiers": ["enterprise"], "regions": ["NA"]}
    pool = only_pool(hiring_gaps(short, gap_request_from_data({"add_csms": [extra]})))
    assert (pool.csms, pool.gap) == (2, 0)


def test_a_csm_not_accepting_new_accounts_keeps_theirs_and_takes_no_others() -> None:
    team: list[dict[str, Any]] = [{"id": "c0", "accepting_new": False}, {"id": "c1"}]
    report = hiring_gaps(book(accounts(5, 110, current_csm="c0") + accounts(15, 110, "f"), team))
    assert only_pool(report).gap == 1  # c0 has 1,010 h spare, but may not use it


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"growth": {"smb": {"accounts_per_quarter": -1.5}}}, "growth.smb.accounts_per_quarter"),
        ({"growth": {"smb": {"arr_per_quarter": -2}}}, "growth.smb.arr_per_quarter"),
        ({"horizon_quarters": 13}, "horizon_quarters"),
        ({"levels": {"enterprise": "wizard"}}, "levels.enterprise"),
        ({"levels": {"Galactic!": "csm"}}, "levels.Galactic!"),
        ({"horizn": 3}, "horizn"),
    ],
)
def test_a_bad_request_is_rejected_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(BookError) as err:
        gap_request_from_data(data)
    assert err.value.message.startswith(field)


def test_removing_an_unknown_csm_is_rejected_naming_it() -> None:
    with pytest.raises(BookError, match=r"remove_csms\[0\]: unknown CSM 'ghost'"):
        hiring_gaps(book(accounts(1, 100), [{"id": "c0"}]), GapRequest(remove_csms=["ghost"]))


def test_adding_a_csm_with_an_existing_id_is_rejected_naming_it() -> None:
    request = gap_request_from_data({"add_csms": [{"id": "c0", "tiers": ["enterprise"]}]})
    with pytest.raises(BookError, match=r"add_csms\[0\]\.id"):
        hiring_gaps(book(accounts(1, 100), [{"id": "c0"}]), request)


# ---------------------------------------------------------------- hires, cost, managers, ARR rule


def test_hires_take_the_tier_level_and_its_pay_band_unless_overridden() -> None:
    mixed = book(
        accounts(1, 200, "s", tier="strategic", arr=300_000)
        + accounts(1, 30, "m", tier="mid_market", arr=20_000)
        + accounts(1, 10, "b", tier="smb", arr=5_000),
        [{"id": "pooled", "tiers": ["tech_touch"]}],  # a CS team exists: workload decides, not the triggers
    )
    levels = {h.tier: (h.level, h.base_range, h.ote_range) for h in hiring_gaps(mixed).hires}
    assert levels == {
        "strategic": ("senior_csm", (95_000, 120_000), (120_000, 155_000)),
        "mid_market": ("csm", (75_000, 95_000), (90_000, 120_000)),
        "smb": ("associate_csm", (55_000, 75_000), (70_000, 90_000)),
    }
    overridden = hiring_gaps(mixed, GapRequest(levels={"smb": "csm"}))
    assert {h.tier: h.level for h in overridden.hires}["smb"] == "csm"
    assert overridden.total_cost.base_min == 95_000 + 75_000 + 75_000


def test_total_cost_adds_up_every_hire() -> None:
    report = hiring_gaps(book(accounts(45, 110)))
    assert only_pool(report).csms_needed == 4
    assert report.total_cost.hires == 4
    assert (report.total_cost.base_min, report.total_cost.ote_max) == (4 * 95_000, 4 * 155_000)


def test_one_cs_manager_per_five_to_eight_csms_after_hiring() -> None:
    csms = [{"id": f"c{i}"} for i in range(9)] + [
        {"id": "boss", "level": "cs_manager", "tiers": ["tech_touch"]}
    ]
    report = hiring_gaps(book(accounts(140, 110, current_csm="c0"), csms))
    m = report.managers
    assert m.csms_after_hiring == 10  # 9 CSMs, one hire (140 x 110 h need 10)
    assert (m.managers_needed_min, m.managers_needed_max, m.managers) == (2, 2, 1)
    assert m.hires == 1
    assert [h.level for h in report.hires].count("cs_manager") == 1


def test_a_team_under_five_csms_gets_no_manager_hire() -> None:
    report = hiring_gaps(book(accounts(30, 110)))
    assert report.managers.csms_after_hiring == 3
    assert report.managers.hires == 0


def test_the_arr_rule_of_thumb_slides_from_2m_to_4m_per_csm() -> None:
    assert arr_rule_csms(10_000_000) == 5
    assert arr_rule_csms(20_000_000) == 10
    assert arr_rule_csms(30_000_000) == 14  # 10 + 10M / 2.5M
    assert arr_rule_csms(60_000_000) == pytest.approx(10 + 12 + 10 / 3)
    assert arr_rule_csms(150_000_000) == pytest.approx(10 + 12 + 50 / 3 + 12.5)


def test_a_pool_where_workload_and_the_arr_rule_disagree_shows_both() -> None:
    # $4M of ARR says 2 CSMs; 40 x 110 h of enterprise work says 3.
    pool = only_pool(hiring_gaps(book(accounts(40, 110))))
    assert (pool.arr_rule_csms, pool.csms_needed) == (2.0, 3)


# ---------------------------------------------------------------- no CSM yet: the seeds' triggers


def _fired(report: GapReport) -> set[str]:
    return {t.name for t in report.triggers if t.fired}


def test_with_no_csm_and_no_trigger_nobody_is_hired_yet() -> None:
    report = hiring_gaps(book(accounts(10, 30, tier="mid_market", arr=20_000)))
    assert _fired(report) == set()
    assert report.hires == []
    assert only_pool(report).csms_needed == 1  # the workload is still reported


def test_the_first_csm_comes_at_500k_arr() -> None:
    report = hiring_gaps(book(accounts(12, 30, tier="mid_market", arr=45_000)))
    assert "first_csm" in _fired(report) and "middle_segment" in _fired(report)
    assert [h.tier for h in report.hires] == ["mid_market"]


def test_the_first_csm_comes_at_20_customers() -> None:
    report = hiring_gaps(book(accounts(20, 5, tier="smb", arr=2_000)))
    assert _fired(report) == {"first_csm"}
    assert len(report.hires) == 1


def test_two_50k_customers_trigger_a_large_account_csm() -> None:
    report = hiring_gaps(book(accounts(2, 110, arr=60_000) + accounts(3, 10, "s", tier="smb", arr=3_000)))
    assert _fired(report) == {"large_accounts"}
    assert [(h.tier, h.level) for h in report.hires] == [("enterprise", "senior_csm")]


def test_a_trigger_reached_by_growth_hires_in_that_quarter() -> None:
    report = hiring_gaps(
        book(accounts(15, 5, tier="smb", arr=2_000)),
        GapRequest(growth={"smb": {"accounts_per_quarter": 0.1}}),
    )
    first = next(t for t in report.triggers if t.name == "first_csm")
    assert first.quarter == "2027-Q3"  # 15 x 1.1^3 = 20 customers
    assert (first.value, first.detail) == (20, "20 customers, $30,000 ARR")  # no ARR growth asked
    assert [h.quarter for h in report.hires] == ["2027-Q3"]


# ---------------------------------------------------------------- the packing is a proven minimum


def _brute_force_new_bins(
    items: list[tuple[int, int, int]], existing: list[tuple[int, int, int]], profile: Any
) -> int:
    for extra in range(len(items) + 1):
        rooms = [*existing, *([profile] * extra)]
        for choice in itertools.product(range(len(rooms)), repeat=len(items)):
            load = [[0, 0, 0] for _ in rooms]
            for item, b in zip(items, choice, strict=True):
                for d in range(3):
                    load[b][d] += item[d]
            if all(load[b][d] <= rooms[b][d] for b in range(len(rooms)) for d in range(3)):
                return extra
    raise AssertionError("unreachable: one bin per item always fits")


def test_bins_filled_exactly_beat_first_fit_decreasing_and_meet_the_bound() -> None:
    profile = (100, UNCAPPED, UNCAPPED)
    # FFD puts 49 + 49 together and needs three bins; 49 + 26 + 25 twice fills two exactly.
    result = _Packer(5.0, seed=0).pack({(49, 0, 1): 2, (26, 0, 1): 2, (25, 0, 1): 2}, [], profile)
    assert (result.new_bins, result.proven, result.method) == (2, True, "bounds")


def test_cp_sat_proves_the_minimum_when_the_bounds_fall_short() -> None:
    # Five 35 h accounts in 100 h bins: the bounds say 2, but only two fit a bin, so 3 it is.
    result = _Packer(5.0, seed=0).pack({(35, 0, 1): 5}, [], (100, UNCAPPED, UNCAPPED))
    assert (result.new_bins, result.lower_bound, result.proven, result.method) == (3, 3, True, "cp-sat")


@pytest.mark.parametrize("seed", range(12))
def test_the_packing_matches_a_brute_force_minimum_on_small_pools(seed: int) -> None:
    rng = random.Random(seed)
    profile = (100, 200, 4)
    items = [
        (rng.randint(10, 80), rng.choice((0, 50, 120)), rng.randint(1, 2)) for _ in range(rng.randint(3, 6))
    ]
    existing = [
        (rng.randint(0, 100), rng.randint(0, 200), rng.randint(0, 4)) for _ in range(rng.randint(0, 2))
    ]
    counts: dict[tuple[int, int, int], int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    result = _Packer(5.0, seed=0).pack(counts, existing, profile)
    assert result.proven
    assert result.new_bins == _brute_force_new_bins(items, existing, profile)


def test_the_report_carries_every_field_of_the_contract() -> None:
    data = hiring_gaps(book(accounts(30, 110), [{"id": "c0"}])).to_json_dict()
    assert {"as_of", "pools", "managers", "hires", "total_cost"} <= data.keys()
    assert {
        "tier", "region", "accounts", "arr", "demand_hours", "capacity_hours",
        "csms", "csms_needed", "gap", "arr_rule_csms", "unserved_accounts",
    } <= data["pools"][0].keys()  # fmt: skip
    assert {"csms_after_hiring", "managers_needed_min", "managers_needed_max", "managers"} <= data[
        "managers"
    ].keys()
    assert {"tier", "region", "count", "level", "base_range", "ote_range", "needed_by", "hire_by"} <= data[
        "hires"
    ][0].keys()
    assert {"base_min", "base_max", "ote_min", "ote_max"} <= data["total_cost"].keys()
    assert data["pools"][0]["unserved_accounts"] == 16  # one CSM carries 14 of 30


@pytest.mark.parametrize("seed", range(3))
def test_the_engine_serves_every_account_with_csms_needed_csms_and_not_with_one_fewer(seed: int) -> None:
    from solver.engine import solve

    rng = random.Random(seed)
    pool = [
        {
            "id": f"a{i}",
            "arr": rng.choice([60_000, 120_000, 900_000]),
            "hours_per_year": rng.choice([70, 90, 110, 150, 300]),
            **({"parent_id": f"p{i % 4}"} if i % 5 == 0 else {}),
            **({"current_csm": f"c{i % 2}", "pinned": True} if i in (1, 2, 3) else {}),
        }
        for i in range(36)
    ]

    def staffed(n: int) -> Book:
        return book(pool, [{"id": f"c{j}"} for j in range(n)], time_limit_seconds=10)

    needed = only_pool(hiring_gaps(staffed(2))).csms_needed
    assert only_pool(hiring_gaps(staffed(2))).proven
    enough = solve(staffed(needed))
    assert enough.unassigned == [] and enough.status in ("optimal", "feasible")
    short = solve(staffed(needed - 1))
    assert short.unassigned or short.status == "infeasible"


def test_pinned_hours_finer_than_a_hundredth_leave_the_room_the_book_leaves() -> None:
    # 2 x 49.995 h pinned to c leave 0.01 h of the 100 h profile: the 0.01 h account fits there. Rounded up
    # one by one (50.00 h each), the pinned accounts would fill c and the last account would need a hire.
    report = hiring_gaps(
        book(
            [
                *accounts(2, 49.995, prefix="p", current_csm="c", pinned=True),
                {"id": "free", "hours_per_year": 0.01},
            ],
            [{"id": "c"}],
            capacity_hours=100,
        )
    )
    pool = only_pool(report)
    assert pool.csms_needed == 1 and pool.hires == 0 and pool.notes == []


def test_a_parents_hours_are_rounded_once_on_the_sum() -> None:
    # 3 x 33.333 h under one parent = 99.999 h: one 100 h CSM carries it, no hire and no oversize note.
    report = hiring_gaps(
        book(accounts(3, 33.333, parent_id="P"), [{"id": "c", "capacity_hours": 100}], capacity_hours=100)
    )
    pool = only_pool(report)
    assert pool.csms_needed == 1 and pool.hires == 0 and pool.notes == [] and pool.proven


def test_hours_rounded_up_leave_the_count_unproven_with_the_books_own_lower_bound() -> None:
    # 49.995 h + 50.001 h = 99.996 h fit one 100 h CSM; rounded up (50.00 + 50.01) they take two.
    report = hiring_gaps(
        book(
            [{"id": "a", "hours_per_year": 49.995}, {"id": "b", "hours_per_year": 50.001}], capacity_hours=100
        )
    )
    pool = only_pool(report)
    assert pool.csms_needed_lower_bound == 1 and not pool.proven and not report.solver.proven
    assert any("hours finer than a hundredth" in n for n in pool.notes)


def test_a_kept_account_within_a_capacity_finer_than_a_hundredth_is_not_called_over_capacity() -> None:
    report = hiring_gaps(
        book(
            [{"id": "a", "hours_per_year": 100.001, "current_csm": "c0", "pinned": True}],
            [{"id": "c0", "capacity_hours": 100.005}],
            capacity_hours=100.005,
        )
    )
    assert only_pool(report).notes == []


def test_an_account_larger_than_the_profile_goes_to_a_csm_with_room_for_it_before_a_hire() -> None:
    # 120 h is more than the 100 h profile, but c1 (150 h) carries it: it needs a CSM of its own, not a hire.
    report = hiring_gaps(
        book([{"id": "a", "hours_per_year": 120}], [{"id": "c1", "capacity_hours": 150}], capacity_hours=100)
    )
    pool = only_pool(report)
    assert pool.csms_needed == 1 and pool.hires == 0


def test_an_account_larger_than_the_profile_uses_up_the_room_of_the_csm_who_takes_it() -> None:
    # c1 (150 h) keeps a pinned 20 h account and takes the 120 h one: 10 h are left, so the 100 h account
    # needs a hire.
    report = hiring_gaps(
        book(
            [
                {"id": "pin", "hours_per_year": 20, "current_csm": "c1", "pinned": True},
                {"id": "big", "hours_per_year": 120},
                {"id": "free", "hours_per_year": 100},
            ],
            [{"id": "c1", "capacity_hours": 150}],
            capacity_hours=100,
        )
    )
    assert only_pool(report).hires == 1
