"""The hiring-gap report: how many CSMs of which tier and region a book needs, when to hire them, the cost.

Each pool's need is a proven minimum of a three-dimensional bin packing (hours, ARR, accounts) of its
parent groups into CSMs of the pool's profile, with pinned and frozen accounts held by their CSMs; the
hires are the fewest profile CSMs that, added to the team actually there in each quarter of the horizon,
let every account be served. See docs/hiring-gaps.md for the method and the request's fields.
"""

from __future__ import annotations

from solver.gaps.demand import PoolKey
from solver.gaps.hires import MANAGER_LEVELS
from solver.gaps.models import (
    ArrRule,
    GapPool,
    GapReport,
    GapRequest,
    GapSolverInfo,
    GroupBy,
    Hire,
    Managers,
    PoolProfile,
    Quarter,
    QuarterPool,
    TierGrowth,
    TotalCost,
    Trigger,
    gap_request_from_data,
)
from solver.gaps.packing import MAX_SECONDS_PER_PACKING, UNCAPPED, Packing, Vec, _Packer
from solver.gaps.report import hiring_gaps
from solver.gaps.triggers import (
    ARR_RULE_BANDS,
    FIRST_CSM_ARR,
    FIRST_CSM_CUSTOMERS,
    LARGE_ACCOUNT_ARR,
    LARGE_ACCOUNTS_FOR_CSM,
    MIDDLE_SEGMENT_ARR,
    MIDDLE_SEGMENT_TIER,
    arr_rule_csms,
)

__all__ = [
    "ARR_RULE_BANDS",
    "FIRST_CSM_ARR",
    "FIRST_CSM_CUSTOMERS",
    "LARGE_ACCOUNTS_FOR_CSM",
    "LARGE_ACCOUNT_ARR",
    "MANAGER_LEVELS",
    "MAX_SECONDS_PER_PACKING",
    "MIDDLE_SEGMENT_ARR",
    "MIDDLE_SEGMENT_TIER",
    "UNCAPPED",
    "ArrRule",
    "GapPool",
    "GapReport",
    "GapRequest",
    "GapSolverInfo",
    "GroupBy",
    "Hire",
    "Managers",
    "Packing",
    "PoolKey",
    "PoolProfile",
    "Quarter",
    "QuarterPool",
    "TierGrowth",
    "TotalCost",
    "Trigger",
    "Vec",
    "_Packer",
    "arr_rule_csms",
    "gap_request_from_data",
    "hiring_gaps",
]
