"""The team a pool has: each CSM's share of the pools they may serve, and how much of a quarter they work
(not before their start date, not from their end date, at ramp speed in between)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

from solver import policy as rules
from solver.gaps.demand import _pool_key, _pools_by_region
from solver.gaps.models import GroupBy
from solver.schema import CSM, Book, Tier


@dataclass
class _Seat:
    """A CSM's share of one pool: `weight` of their time, capacity and caps."""

    csm: CSM
    weight: float


def _availability(csm: CSM, start: dt.date, end: dt.date, ramp_days: int) -> float:
    """Average share of full speed over [start, end): 0 before start_date and from end_date, ramp between."""
    return _average_speed(csm.start_date, csm.end_date, start, end, ramp_days)


@functools.lru_cache(maxsize=4096)
def _average_speed(
    start_date: dt.date | None, end_date: dt.date | None, start: dt.date, end: dt.date, ramp_days: int
) -> float:
    days = max(1, (end - start).days)
    total = 0.0
    for i in range(days):
        day = start + dt.timedelta(days=i)
        if end_date is not None and day >= end_date:
            continue
        if start_date is None:
            total += 1.0
            continue
        since = (day - start_date).days
        if since < 0:
            continue
        total += 1.0 if ramp_days == 0 or since >= ramp_days else since / ramp_days
    return total / days


def _eligible(csm: CSM, key: tuple[Tier, str | None]) -> bool:
    tier, region = key
    return tier in csm.tiers and (region is None or csm.regions is None or region in csm.regions)


def _seats(
    book: Book, keys: list[tuple[Tier, str | None]], group_by: GroupBy
) -> dict[tuple[Tier, str | None], list[_Seat]]:
    """Each CSM split over the pools they can serve, by where their current hours are (else evenly)."""
    hours_by: dict[str, dict[tuple[Tier, str | None], float]] = defaultdict(lambda: defaultdict(float))
    for account in book.accounts:
        if account.current_csm is not None:
            key = _pool_key(account, book.policy, group_by)
            hours_by[account.current_csm][key] += rules.account_hours(account, book.policy) or 1e-6
    seats: dict[tuple[Tier, str | None], list[_Seat]] = defaultdict(list)
    for csm in book.csms:
        mine = {k: h for k, h in hours_by.get(csm.id, {}).items() if _eligible(csm, k)}
        if not mine:
            options = [k for k in keys if _eligible(csm, k)]
            if not options:
                # A CSM with nothing they may serve shows as a surplus in their first tier (and region).
                by_region = _pools_by_region(book.policy, group_by)
                region = csm.regions[0] if csm.regions and by_region else None
                options = [(csm.tiers[0], region)]
            mine = dict.fromkeys(options, 1.0)
        total = sum(mine.values())
        for k, h in mine.items():
            seats[k].append(_Seat(csm, h / total))
    return seats
