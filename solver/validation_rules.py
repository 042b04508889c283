"""The hard rules of CONTRACT.md and DOMAIN.md, stated a second time for the solver-free validator.

The engine reads a book through `solver.policy`; the validator reads it through these functions, written
from the contract with their own date arithmetic, so a wrong rule in one is caught by the other instead of
changing the engine and its referee together. Only the schema and the service-model tables are shared.
A new kind of segment belongs in `segment_terms`; health multiplies the hours in `service_hours`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from solver.policy import DEFAULT_ARR_CAP, DEFAULT_MAX_ACCOUNTS, SERVICE_MODELS
from solver.schema import CSM, Account, Activity, Pair, Policy, TierPolicy

T = TypeVar("T")

# A plan covers the coming year, day by day; a contract year has as many days.
YEAR_DAYS = 365


def plan_date(policy: Policy) -> dt.date:
    """The day the plan is made for: `policy.as_of`, else today."""
    return policy.as_of if policy.as_of is not None else dt.date.today()


def days_between(earlier: dt.date, later: dt.date) -> int:
    """Whole days from one date to another (negative when `later` comes first)."""
    return later.toordinal() - earlier.toordinal()


# ---------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentTerms:
    """What a segment asks of a CSM: hours per account (flat or by activity) and the caps of its CSMs."""

    hours_per_year: float | None
    activities: list[Activity]
    arr_cap: float | None
    max_accounts: int | None


def _lookup(table: Mapping[Any, T], key: str) -> T | None:
    return next((value for name, value in table.items() if name == key), None)


def segment_terms(policy: Policy, segment: str) -> SegmentTerms:
    """A segment's terms: each field the request sets in `policy.tiers`, else the DOMAIN.md default."""
    given = _lookup(policy.tiers, segment) or TierPolicy()
    explicit = given.model_fields_set
    return SegmentTerms(
        hours_per_year=given.hours_per_year,
        activities=given.activities
        if given.activities is not None
        else _lookup(SERVICE_MODELS, segment) or [],
        arr_cap=given.arr_cap if "arr_cap" in explicit else _lookup(DEFAULT_ARR_CAP, segment),
        max_accounts=(
            given.max_accounts if "max_accounts" in explicit else _lookup(DEFAULT_MAX_ACCOUNTS, segment)
        ),
    )


# ---------------------------------------------------------------- hours an account needs


def in_first_contract_year(account: Account, today: dt.date) -> bool:
    """Onboarding hours count until the account's first anniversary (365 days); no start date counts as new."""
    if account.start_date is None:
        return True
    return days_between(account.start_date, today) < YEAR_DAYS


def health_of(account: Account, policy: Policy) -> str | None:
    """An account's health as given; else its score read against the bands (under `red` red, under
    `yellow` yellow, green from `yellow` up); else unknown."""
    if account.health is not None:
        return account.health
    score = account.health_score
    if score is None:
        return None
    if score < policy.health_bands.red:
        return "red"
    return "yellow" if score < policy.health_bands.yellow else "green"


def health_multiplier(account: Account, policy: Policy) -> float:
    """`policy.health_hours` of the account's health; an account of unknown health needs its usual hours."""
    health = health_of(account, policy)
    factors = {
        "green": policy.health_hours.green,
        "yellow": policy.health_hours.yellow,
        "red": policy.health_hours.red,
    }
    return 1.0 if health is None else factors[health]


def service_hours(account: Account, policy: Policy, today: dt.date) -> float:
    """Hours a year the account needs: its own figure, else its segment's flat figure, else the activities;
    times its health's multiplier."""
    return _model_hours(account, policy, today) * health_multiplier(account, policy)


def _model_hours(account: Account, policy: Policy, today: dt.date) -> float:
    if account.hours_per_year is not None:
        return account.hours_per_year
    terms = segment_terms(policy, account.tier)
    if terms.hours_per_year is not None:
        return terms.hours_per_year
    first_year = in_first_contract_year(account, today)
    total = 0.0
    for activity in terms.activities:
        if activity.first_year_only and not first_year:
            continue
        total += activity.count * activity.hours
    return total


def hours_when_served_by(account: Account, pair: Pair | None, policy: Policy, today: dt.date) -> float:
    """A pair's `hours` replace the account's hours when that CSM serves it."""
    if pair is not None and pair.hours is not None:
        return pair.hours
    return service_hours(account, policy, today)


# ---------------------------------------------------------------- what a CSM can give


def has_left(csm: CSM, today: dt.date) -> bool:
    """A CSM whose `end_date` is on or before the plan date has left."""
    if csm.end_date is None:
        return False
    return days_between(csm.end_date, today) >= 0


def full_year_hours(csm: CSM, policy: Policy) -> float:
    """A full year of the CSM at full speed: their `capacity_hours`, else `policy.capacity_hours × fte`."""
    if csm.capacity_hours is not None:
        return csm.capacity_hours
    return policy.capacity_hours * csm.fte


def _ramp_area(u: float, ramp: int) -> float:
    # Day-equivalents of work done in the first u days after the start date, the level rising 0 → 1 over
    # `ramp` days and staying at 1 after: a triangle, then a rectangle.
    if u <= 0:
        return 0.0
    if ramp == 0:
        return u
    if u <= ramp:
        return u * u / (2 * ramp)
    return ramp / 2 + (u - ramp)


def available_days(csm: CSM, policy: Policy, today: dt.date) -> float:
    """Full-speed day-equivalents the CSM gives in the year from the plan date: ramp-up and leaving counted."""
    if has_left(csm, today):
        return 0.0
    last = YEAR_DAYS if csm.end_date is None else min(YEAR_DAYS, days_between(today, csm.end_date))
    if csm.start_date is None:
        return float(last)
    started = days_between(csm.start_date, today)  # days already worked on the plan date
    return _ramp_area(started + last, policy.ramp_days) - _ramp_area(started, policy.ramp_days)


def capacity(csm: CSM, policy: Policy, today: dt.date) -> float:
    """Hours the CSM can give over the coming year: a full year's hours × the share of it they are there."""
    return full_year_hours(csm, policy) * available_days(csm, policy, today) / YEAR_DAYS


def _largest_of_segments(caps: list[float | None]) -> float | None:
    if not caps or None in caps:
        return None
    return max(c for c in caps if c is not None)


def arr_cap(csm: CSM, policy: Policy) -> float | None:
    """ARR a CSM may manage: their own cap, else the largest of their segments' caps (none if any is open)."""
    if csm.arr_cap is not None:
        return csm.arr_cap
    return _largest_of_segments([segment_terms(policy, t).arr_cap for t in csm.tiers])


def account_cap(csm: CSM, policy: Policy) -> int | None:
    """Accounts a CSM may hold: their own cap, else the largest of their segments' caps (none if any is open)."""
    if csm.max_accounts is not None:
        return csm.max_accounts
    caps: list[float | None] = [segment_terms(policy, t).max_accounts for t in csm.tiers]
    largest = _largest_of_segments(caps)
    return None if largest is None else int(largest)


# ---------------------------------------------------------------- continuity


def renewal_frozen(account: Account, policy: Policy, today: dt.date) -> bool:
    """An account renewing today or within the next `renewal_freeze_days` days (inclusive) keeps its CSM."""
    if account.renewal_date is None:
        return False
    ahead = days_between(today, account.renewal_date)
    return 0 <= ahead <= policy.renewal_freeze_days


def onboarding_frozen(account: Account, policy: Policy, today: dt.date) -> bool:
    """An account in its first `onboarding_freeze_days` days (day 0 to N-1 since its start) keeps its CSM."""
    if account.start_date is None:
        return False
    since = days_between(account.start_date, today)
    return 0 <= since < policy.onboarding_freeze_days


def why_it_stays(account: Account, policy: Policy, today: dt.date) -> str | None:
    """Why an account must stay with its current CSM (pin, renewal freeze, onboarding freeze), or None."""
    if account.current_csm is None:
        return None
    if account.pinned:
        return "pinned"
    if renewal_frozen(account, policy, today):
        assert account.renewal_date is not None
        return f"renewal on {account.renewal_date.isoformat()}"
    if onboarding_frozen(account, policy, today):
        assert account.start_date is not None
        return f"onboarding since {account.start_date.isoformat()}"
    return None


# ---------------------------------------------------------------- who may serve whom


def _covers(value: str | None, allowed: list[str] | None) -> bool:
    # An account without a region (or language) and a CSM without a list both mean "no constraint".
    if value is None or allowed is None:
        return True
    return value in allowed


def pairing_problem(
    account: Account, csm: CSM, pair: Pair | None, policy: Policy, today: dt.date
) -> str | None:
    """Why this CSM may not serve this account (left, segment, hard region or language, ban, closed book)."""
    if has_left(csm, today):
        return f"{csm.id} left on {csm.end_date}"
    if account.tier not in csm.tiers:
        return f"{csm.id} does not cover {account.tier}"
    if policy.region_match == "hard" and not _covers(account.region, csm.regions):
        return f"{csm.id} does not cover region {account.region}"
    if policy.language_match == "hard" and not _covers(account.language, csm.languages):
        return f"{csm.id} does not speak {account.language}"
    if pair is not None and pair.allowed is False:
        return f"pair {account.id} / {csm.id} is not allowed"
    if csm.accepting_new is False and account.current_csm != csm.id:
        return f"{csm.id} is not accepting new accounts"
    return None
