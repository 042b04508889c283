"""The rules of the field (DOMAIN.md) as plain functions: service models, capacity, caps, freezes, eligibility.

The engine, the solver-free validator and the hiring-gap report all read a book through these functions,
so a rule is written once, in the language of CS ops, and every plan is judged by the same definition.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from solver.schema import (
    BUILTIN_TIERS,
    CSM,
    Account,
    Activity,
    Book,
    Health,
    Level,
    Pair,
    Policy,
    Tier,
    TierPolicy,
)

# 1,950 working hours a year minus 20 % overhead (seeds/002).
WORKING_HOURS_PER_YEAR = 1950.0
OVERHEAD_SHARE = 0.20
SERVICEABLE_HOURS = WORKING_HOURS_PER_YEAR * (1 - OVERHEAD_SHARE)  # 1,560 h
PLAN_YEAR_DAYS = 365


def _a(name: str, count: float, hours: float, first_year_only: bool = False) -> Activity:
    return Activity(name=name, count=count, hours=hours, first_year_only=first_year_only)


# Service models, activity by activity (seeds/002, 001, 004). The enterprise model is the seeds' own:
# 4 QBRs x 4 h + 24 bi-weekly check-ins x 1 h + 20 h onboarding (first contract year only)
# + 6 h renewal prep + escalations = 110 h in the first year, 90 h after it.
SERVICE_MODELS: dict[Tier, list[Activity]] = {
    "strategic": [
        _a("exec check-ins (monthly)", 12, 4),
        _a("QBR prep and delivery", 4, 8),
        _a("on-site visits", 2, 16),
        _a("onboarding", 1, 40, first_year_only=True),
        _a("renewal prep", 1, 12),
        _a("escalations and advocacy", 1, 36),
    ],
    "enterprise": [
        _a("QBR prep", 4, 4),
        _a("bi-weekly check-ins", 24, 1),
        _a("onboarding", 1, 20, first_year_only=True),
        _a("renewal prep", 1, 6),
        _a("ad-hoc escalations", 1, 44),
    ],
    "mid_market": [
        _a("monthly check-ins", 12, 1.5),
        _a("QBRs", 2, 3),
        _a("onboarding", 1, 4, first_year_only=True),
        _a("renewal prep", 1, 2),
    ],
    "smb": [
        _a("onboarding bond", 1, 4, first_year_only=True),
        _a("quarterly informed follow-up", 4, 0.75),
        _a("renewal touch", 1, 1),
        _a("automation review", 1, 2),
    ],
    "tech_touch": [
        _a("pooled program review", 1, 2),
    ],
}

# ARR caps by segment (seeds/002): enterprise $8M-$15M, mid-market $2M-$5M; the seeds give none for the
# other tiers. Book-size caps: the upper end of the book sizes the seeds quote.
DEFAULT_ARR_CAP: dict[Tier, float | None] = {
    "strategic": None,
    "enterprise": 15_000_000.0,
    "mid_market": 5_000_000.0,
    "smb": None,
    "tech_touch": None,
}
DEFAULT_MAX_ACCOUNTS: dict[Tier, int | None] = {
    "strategic": 8,
    "enterprise": 20,
    "mid_market": 75,
    "smb": 200,
    "tech_touch": None,
}
# ACV bands (seeds/002), used by the generator and the docs: tier is given per account.
ACV_BANDS: dict[Tier, tuple[float, float]] = {
    "strategic": (250_000, 2_000_000),
    "enterprise": (50_000, 250_000),
    "mid_market": (10_000, 50_000),
    "smb": (1_000, 10_000),
    "tech_touch": (100, 1_000),
}
# Default level of a hire by tier (the hiring-gap issue) and US compensation bands (seeds/002, 001).
LEVEL_BY_TIER: dict[Tier, Level] = {
    "strategic": "senior_csm",
    "enterprise": "senior_csm",
    "mid_market": "csm",
    "smb": "associate_csm",
    "tech_touch": "associate_csm",
}
COMPENSATION: dict[Level, tuple[tuple[float, float], tuple[float, float]]] = {
    "associate_csm": ((55_000, 75_000), (70_000, 90_000)),
    "csm": ((75_000, 95_000), (90_000, 120_000)),
    "senior_csm": ((95_000, 120_000), (120_000, 155_000)),
    "cs_manager": ((100_000, 130_000), (125_000, 160_000)),
    "director_cs": ((130_000, 170_000), (165_000, 210_000)),
    "vp_cs": ((175_000, 230_000), (220_000, 300_000)),
}
CSMS_PER_MANAGER = (5, 8)


def service_model_hours(activities: list[Activity], first_year: bool) -> float:
    """Hours a year an account needs: the sum of its service model's activities."""
    return sum(a.count * a.hours for a in activities if first_year or not a.first_year_only)


# A segment of the customer's own hires at this level unless its policy names one (the contract).
DEFAULT_CUSTOM_LEVEL: Level = "csm"
# Built-in segments served by a pooled program rather than a named CSM.
POOLED_BY_DEFAULT = frozenset({"tech_touch"})
BUILTIN_LABELS: dict[str, str] = {
    "strategic": "Strategic",
    "enterprise": "Enterprise",
    "mid_market": "Mid-market",
    "smb": "SMB",
    "tech_touch": "Tech touch",
}


@dataclass(frozen=True)
class ResolvedTier:
    activities: list[Activity]
    hours_per_year: float | None  # a flat override of the activities
    arr_cap: float | None
    max_accounts: int | None
    label: str = ""
    level: Level = DEFAULT_CUSTOM_LEVEL
    pooled: bool = False


def resolve_tier(policy: Policy, tier: Tier) -> ResolvedTier:
    """The segment's policy: the request's definition on top of the DOMAIN.md defaults (built-in ones only).

    A segment of the customer's own has no defaults: its service model and caps are what the policy says
    (no cap where it gives none), and a hire for it is a `csm` unless it names a level.
    """
    override = policy.tiers.get(tier) or TierPolicy()
    builtin = tier in BUILTIN_TIERS
    set_fields = override.model_fields_set
    return ResolvedTier(
        activities=(
            override.activities
            if override.activities is not None
            else (SERVICE_MODELS[tier] if builtin else [])
        ),
        hours_per_year=override.hours_per_year,
        arr_cap=override.arr_cap if "arr_cap" in set_fields or not builtin else DEFAULT_ARR_CAP[tier],
        max_accounts=(
            override.max_accounts
            if "max_accounts" in set_fields or not builtin
            else DEFAULT_MAX_ACCOUNTS[tier]
        ),
        label=override.label or BUILTIN_LABELS.get(tier) or tier.replace("_", " ").capitalize(),
        level=override.level or (LEVEL_BY_TIER[tier] if builtin else DEFAULT_CUSTOM_LEVEL),
        pooled=override.pooled if override.pooled is not None else tier in POOLED_BY_DEFAULT,
    )


def segment_label(policy: Policy, tier: Tier) -> str:
    """How people write the segment: its `label`, else a readable form of its name."""
    return resolve_tier(policy, tier).label


def segment_order(policy: Policy) -> dict[str, int]:
    """Display order of segments: the built-in five, then the book's own in the order it defines them."""
    names = list(BUILTIN_TIERS) + [t for t in policy.tiers if t not in BUILTIN_TIERS]
    return {t: i for i, t in enumerate(names)}


def hire_level(policy: Policy, tier: Tier) -> Level:
    """The level a hire for this segment gets: the segment's `level`, else the DOMAIN.md default."""
    return resolve_tier(policy, tier).level


def is_pooled_segment(policy: Policy, tier: Tier) -> bool:
    """A pooled segment is served by a program, never assigned to a person (tech_touch by default)."""
    return resolve_tier(policy, tier).pooled


def as_of(policy: Policy) -> dt.date:
    return policy.as_of or dt.date.today()


def in_first_contract_year(account: Account, today: dt.date) -> bool:
    """An account is in its first contract year (onboarding hours apply) unless it started over a year ago.

    An account with no start date is treated as new: the full service model, the conservative figure.
    """
    if account.start_date is None:
        return True
    return (today - account.start_date).days < PLAN_YEAR_DAYS


def account_health(account: Account, policy: Policy) -> Health | None:
    """The account's health: as given, else from its score (below `red` red, below `yellow` yellow, else
    green), else unknown."""
    if account.health is not None:
        return account.health
    if account.health_score is None:
        return None
    bands = policy.health_bands
    if account.health_score < bands.red:
        return "red"
    if account.health_score < bands.yellow:
        return "yellow"
    return "green"


def health_factor(account: Account, policy: Policy) -> float:
    """How many times its usual hours the account needs for its health (1.0 when unknown)."""
    health = account_health(account, policy)
    return 1.0 if health is None else float(getattr(policy.health_hours, health))


def base_account_hours(account: Account, policy: Policy) -> float:
    """Hours a year the account's service model gives: its own figure, else its segment's model."""
    if account.hours_per_year is not None:
        return account.hours_per_year
    tier = resolve_tier(policy, account.tier)
    if tier.hours_per_year is not None:
        return tier.hours_per_year
    return service_model_hours(tier.activities, in_first_contract_year(account, as_of(policy)))


def account_hours(account: Account, policy: Policy) -> float:
    """Hours a year the account needs: its service-model hours times its health's factor."""
    return base_account_hours(account, policy) * health_factor(account, policy)


def hours_explained(account: Account, policy: Policy) -> str:
    """The account's hours in words, e.g. "red account: 165 h, 1.5 × 110 h"."""
    base = base_account_hours(account, policy)
    factor = health_factor(account, policy)
    if factor == 1.0:
        return f"{base:,.4g} h"
    health = account_health(account, policy)
    return f"{health} account: {base * factor:,.4g} h, {factor:g} × {base:,.4g} h"


def pair_hours(account: Account, pair: Pair | None, policy: Policy) -> float:
    """Hours the account needs when served by a given CSM (a pair override replaces the account's hours)."""
    if pair is not None and pair.hours is not None:
        return pair.hours
    return account_hours(account, policy)


def csm_has_left(csm: CSM, today: dt.date) -> bool:
    """A CSM whose end date is on or before the plan date has left and gets no accounts."""
    return csm.end_date is not None and csm.end_date <= today


def availability_share(csm: CSM, policy: Policy) -> float:
    """Share of the coming plan year the CSM can serve: ramping up after start_date, gone after end_date.

    Capacity grows linearly from 0 to full over `ramp_days` after `start_date`; the share is the average of
    that curve over the 365 days from `as_of`, cut at `end_date`.
    """
    today = as_of(policy)
    if csm_has_left(csm, today):
        return 0.0
    ramp = policy.ramp_days
    start = csm.start_date
    end_day = PLAN_YEAR_DAYS
    if csm.end_date is not None:
        end_day = min(end_day, (csm.end_date - today).days)

    def ramp_level(day: float) -> float:
        if start is None:
            return 1.0
        since = day - (start - today).days
        if since <= 0:
            return 0.0
        if ramp == 0 or since >= ramp:
            return 1.0
        return since / ramp

    if start is None or (today - start).days >= ramp:
        return max(0, end_day) / PLAN_YEAR_DAYS
    s = (start - today).days  # may be negative (started already, still ramping)
    if ramp == 0:  # no ramp: full speed from the start date (the level jumps, so no trapezoid)
        return max(0, end_day - max(s, 0)) / PLAN_YEAR_DAYS
    # Integrate the piecewise-linear ramp exactly over [0, end_day].
    total = 0.0
    points = sorted(
        {0.0, float(end_day), float(min(max(s, 0), end_day)), float(min(max(s + ramp, 0), end_day))}
    )
    for a, b in itertools.pairwise(points):
        total += (ramp_level(a) + ramp_level(b)) / 2 * (b - a)
    return total / PLAN_YEAR_DAYS


def full_capacity_hours(csm: CSM, policy: Policy) -> float:
    """Yearly serviceable hours of the CSM at full speed: their own figure, else the policy's times FTE."""
    if csm.capacity_hours is not None:
        return csm.capacity_hours
    return policy.capacity_hours * csm.fte


def capacity_hours(csm: CSM, policy: Policy) -> float:
    """Hours the CSM can actually give over the coming year (ramp-up and leaving counted)."""
    return full_capacity_hours(csm, policy) * availability_share(csm, policy)


def is_ramping(csm: CSM, policy: Policy) -> bool:
    today = as_of(policy)
    return csm.start_date is not None and (today - csm.start_date).days < policy.ramp_days


def csm_arr_cap(csm: CSM, policy: Policy) -> float | None:
    """ARR a CSM may manage: their own cap, else the largest cap among their tiers (None: no cap)."""
    if csm.arr_cap is not None:
        return csm.arr_cap
    caps = [resolve_tier(policy, t).arr_cap for t in csm.tiers]
    return None if any(c is None for c in caps) else max(c for c in caps if c is not None)


def csm_max_accounts(csm: CSM, policy: Policy) -> int | None:
    """Book-size cap: the CSM's own, else the largest among their tiers (None: no cap)."""
    if csm.max_accounts is not None:
        return csm.max_accounts
    caps = [resolve_tier(policy, t).max_accounts for t in csm.tiers]
    return None if any(c is None for c in caps) else max(c for c in caps if c is not None)


def freeze_reason(account: Account, policy: Policy) -> str | None:
    """Why the account must stay with its current CSM (pin, renewal or onboarding freeze), or None."""
    if account.current_csm is None:
        return None
    if account.pinned:
        return "pinned"
    today = as_of(policy)
    if account.renewal_date is not None:
        days = (account.renewal_date - today).days
        if 0 <= days <= policy.renewal_freeze_days:
            return f"renewal on {account.renewal_date.isoformat()} (within {policy.renewal_freeze_days} days)"
    if account.start_date is not None:
        days = (today - account.start_date).days
        if 0 <= days < policy.onboarding_freeze_days:
            return f"onboarding since {account.start_date.isoformat()} (first {policy.onboarding_freeze_days} days)"
    return None


def _matches(value: str | None, allowed: list[str] | None) -> bool:
    return value is None or allowed is None or value in allowed


def eligibility_problem(
    account: Account, csm: CSM, pair: Pair | None, policy: Policy, *, today: dt.date | None = None
) -> str | None:
    """Why this CSM may not serve this account under the hard rules, or None when they may.

    Capacity, caps, freezes and parents are about the whole book and are checked elsewhere; this is the
    pairwise part: the CSM has not left, covers the tier, the region and language (when `hard`), is
    accepting new accounts (or already has this one), and the pair is not banned.
    """
    today = today or as_of(policy)
    if csm_has_left(csm, today):
        return f"{csm.id} left on {csm.end_date.isoformat() if csm.end_date else '?'}"
    if account.tier not in csm.tiers:
        return f"{csm.id} does not cover {account.tier}"
    if policy.region_match == "hard" and not _matches(account.region, csm.regions):
        return f"{csm.id} does not cover region {account.region}"
    if policy.language_match == "hard" and not _matches(account.language, csm.languages):
        return f"{csm.id} does not speak {account.language}"
    if pair is not None and not pair.allowed:
        return f"pair {account.id} / {csm.id} is not allowed"
    if not csm.accepting_new and account.current_csm != csm.id:
        return f"{csm.id} is not accepting new accounts"
    return None


def soft_mismatches(account: Account, csm: CSM, policy: Policy) -> int:
    """Number of `soft` region/language mismatches of a pairing (each costs in the objective)."""
    n = 0
    if policy.region_match == "soft" and not _matches(account.region, csm.regions):
        n += 1
    if policy.language_match == "soft" and not _matches(account.language, csm.languages):
        n += 1
    return n


def pairs_index(book: Book) -> dict[tuple[str, str], Pair]:
    return {(p.account, p.csm): p for p in book.pairs}
