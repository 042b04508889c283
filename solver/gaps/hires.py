"""The hires: how many CSMs each pool needs on board by each quarter, the CS Managers a growing team needs,
and each hire's dates, pay range and reason."""

from __future__ import annotations

import datetime as dt
import math

from solver import policy as rules
from solver.gaps.demand import PoolKey
from solver.gaps.horizon import _Horizon
from solver.gaps.models import Hire
from solver.gaps.pool_quarter import _PoolQuarter
from solver.gaps.quarters import _quarter_label
from solver.gaps.team import _availability
from solver.schema import Level, Tier

MANAGER_LEVELS: frozenset[Level] = frozenset({"cs_manager", "director_cs", "vp_cs"})


def _csm_hires_needed(
    h: _Horizon, no_csms: bool, floors: list[dict[PoolKey, int]]
) -> dict[PoolKey, list[int]]:
    """Hires each pool needs on board by each quarter, cumulative (a hire stays)."""
    cumulative: dict[PoolKey, list[int]] = {}
    for key in h.keys:
        done = 0
        row = []
        for q in h.quarters:
            need = h.results[q][key].hires_needed
            if no_csms:
                # Each fired trigger opens one pool: its first CSM carries at least that pool's workload;
                # the other pools' accounts stay with the founders (or that first CSM) until their turn.
                need = max(need, floors[q][key]) if key in floors[q] else 0
            done = max(done, need)
            row.append(done)
        cumulative[key] = row
    return cumulative


def _team_size(h: _Horizon, q: int, cumulative: dict[PoolKey, list[int]]) -> int:
    """Individual contributors on the team in quarter q: CSMs there at all that quarter, plus the hires."""
    start, end = h.starts[q], h.starts[q + 1]
    there = sum(
        1
        for c in h.scenario.csms
        if c.level not in MANAGER_LEVELS and _availability(c, start, end, h.policy.ramp_days) > 0
    )
    return there + sum(cumulative[k][q] for k in h.keys)


def _manager_hires(h: _Horizon, cumulative: dict[PoolKey, list[int]], lead: int) -> list[Hire]:
    """One CS Manager per 5–8 CSMs: a manager hire when the team outgrows its managers (from five CSMs)."""
    low, high = rules.CSMS_PER_MANAGER
    hires: list[Hire] = []
    done = 0
    for q in h.quarters:
        team = _team_size(h, q, cumulative)
        end = h.starts[q + 1]
        managers = sum(
            1
            for c in h.scenario.csms
            if c.level == "cs_manager" and (c.end_date is None or c.end_date >= end)
        )
        # A team under five CSMs reports to the head of CS: no manager hire for it.
        want = max(done, math.ceil(team / high) - managers if team >= low else 0)
        hires.extend(_manager_hire(q, h.starts, h.today, lead, team) for _ in range(want - done))
        done = want
    return hires


def _hire(
    tier: Tier,
    region: str | None,
    level: Level,
    q: int,
    starts: list[dt.date],
    today: dt.date,
    lead: int,
    result: _PoolQuarter,
) -> Hire:
    base, ote = rules.COMPENSATION[level]
    needed_by = starts[q]
    hire_by = needed_by - dt.timedelta(days=lead)
    where = f"{tier} {region}" if region else tier
    when = "now" if q == 0 else _quarter_label(needed_by)
    reason = (
        f"{where} {when}: {result.accounts} accounts, {result.demand_hours:,.0f} h need "
        f"{result.needed_csms} CSMs; {result.available:.2f} available"
    )
    return Hire(
        tier=tier,
        region=region,
        level=level,
        base_range=base,
        ote_range=ote,
        needed_by=needed_by,
        hire_by=hire_by,
        quarter=when,
        late=hire_by < today,
        reason=reason,
    )


def _manager_hire(q: int, starts: list[dt.date], today: dt.date, lead: int, team: int) -> Hire:
    base, ote = rules.COMPENSATION["cs_manager"]
    needed_by = starts[q]
    hire_by = needed_by - dt.timedelta(days=lead)
    return Hire(
        tier=None,
        region=None,
        level="cs_manager",
        base_range=base,
        ote_range=ote,
        needed_by=needed_by,
        hire_by=hire_by,
        quarter="now" if q == 0 else _quarter_label(needed_by),
        late=hire_by < today,
        reason=f"{team} CSMs after hiring: one CS Manager per 5–8 CSMs",
    )
