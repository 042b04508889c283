"""The seeds' rules of thumb: the sliding ARR rule, and the hiring triggers of a company with no CSM yet
(first CSM, large accounts, the middle segment), quarter by quarter, with the floor of hires each puts on a
pool."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from solver.gaps.demand import _Acct
from solver.schema import Tier

# Sliding ARR rule of thumb (seeds/003, comment): $2M of ARR per CSM up to $20M, then $2.5M / $3M / $4M
# per CSM for the ARR past $20M / $50M / $100M.
ARR_RULE_BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 2_000_000.0),
    (20_000_000.0, 2_500_000.0),
    (50_000_000.0, 3_000_000.0),
    (100_000_000.0, 4_000_000.0),
)
# Hiring triggers for a company with no CSM yet (seeds/004, 003).
FIRST_CSM_CUSTOMERS = 20
FIRST_CSM_ARR = 500_000.0
LARGE_ACCOUNT_ARR = 50_000.0
LARGE_ACCOUNTS_FOR_CSM = 2
MIDDLE_SEGMENT_ARR = 300_000.0
MIDDLE_SEGMENT_TIER: Tier = "mid_market"


def arr_rule_csms(company_arr: float) -> float:
    """CSMs the sliding ARR rule of thumb gives a company: each band's ARR over that band's ARR per CSM."""
    csms = 0.0
    for i, (floor, per_csm) in enumerate(ARR_RULE_BANDS):
        ceiling = ARR_RULE_BANDS[i + 1][0] if i + 1 < len(ARR_RULE_BANDS) else math.inf
        if company_arr > floor:
            csms += (min(company_arr, ceiling) - floor) / per_csm
    return csms


@dataclass
class _TriggerState:
    name: str
    threshold: float
    message: str
    fired_quarter: int | None = None
    value: float = 0.0
    detail: str = ""


def _evaluate_triggers(
    per_quarter: list[dict[tuple[Tier, str | None], list[_Acct]]],
) -> tuple[list[_TriggerState], list[dict[tuple[Tier, str | None], int]]]:
    """The seeds' hiring triggers, quarter by quarter, and the floor of hires each one puts on a pool."""
    first = _TriggerState(
        "first_csm", FIRST_CSM_CUSTOMERS, "first CSM at 20–30 paying customers or $500k ARR, whichever first"
    )
    large = _TriggerState(
        "large_accounts",
        LARGE_ACCOUNTS_FOR_CSM,
        "a CSM for large accounts as soon as two $50k+ customers exist",
    )
    middle = _TriggerState(
        "middle_segment", MIDDLE_SEGMENT_ARR, "a CSM for the middle segment at $300k–$500k of segment revenue"
    )
    floors: list[dict[tuple[Tier, str | None], int]] = []
    floor: dict[tuple[Tier, str | None], int] = {}
    for q, pools in enumerate(per_quarter):
        everyone = [a for accts in pools.values() for a in accts]
        customers = len(everyone)
        arr = sum(a.arr for a in everyone)
        big = [a for a in everyone if a.arr >= LARGE_ACCOUNT_ARR]
        middle_arr = sum(a.arr for a in everyone if a.account.tier == MIDDLE_SEGMENT_TIER)
        # The figures shown are today's, or the quarter's that fired the trigger.
        if q == 0 or (
            first.fired_quarter is None and (customers >= FIRST_CSM_CUSTOMERS or arr >= FIRST_CSM_ARR)
        ):
            first.value, first.detail = customers, f"{customers} customers, ${arr:,.0f} ARR"
        if q == 0 or (large.fired_quarter is None and len(big) >= LARGE_ACCOUNTS_FOR_CSM):
            large.value, large.detail = len(big), f"{len(big)} customers of $50k+ ARR"
        if q == 0 or (middle.fired_quarter is None and middle_arr >= MIDDLE_SEGMENT_ARR):
            middle.value, middle.detail = middle_arr, f"${middle_arr:,.0f} of mid-market ARR"
        if first.fired_quarter is None and (customers >= FIRST_CSM_CUSTOMERS or arr >= FIRST_CSM_ARR):
            first.fired_quarter = q
        if large.fired_quarter is None and len(big) >= LARGE_ACCOUNTS_FOR_CSM:
            large.fired_quarter = q
            counts: dict[tuple[Tier, str | None], int] = defaultdict(int)
            for key, accts in pools.items():
                counts[key] = sum(1 for a in accts if a.arr >= LARGE_ACCOUNT_ARR)
            best = max(counts, key=lambda k: (counts[k], sum(a.arr for a in pools[k]), str(k)))
            floor[best] = max(floor.get(best, 0), 1)
        if middle.fired_quarter is None and middle_arr >= MIDDLE_SEGMENT_ARR:
            middle.fired_quarter = q
            mids = [k for k in pools if k[0] == MIDDLE_SEGMENT_TIER]
            best = max(mids, key=lambda k: (sum(a.arr for a in pools[k]), str(k)))
            floor[best] = max(floor.get(best, 0), 1)
        if first.fired_quarter is not None and not floor and pools:
            best = max(pools, key=lambda k: (sum(a.arr for a in pools[k]), len(pools[k]), str(k)))
            floor[best] = 1
        floors.append(dict(floor))
    return [first, large, middle], floors
