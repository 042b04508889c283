"""The report assembled: the pools today, the quarters, the hires sorted by date, managers, cost,
triggers and the ARR rule, with the solver's figures."""

from __future__ import annotations

import datetime as dt
import math
import time

from solver import policy as rules
from solver.gaps.demand import PoolKey
from solver.gaps.hires import _csm_hires_needed, _hire, _manager_hires, _team_size
from solver.gaps.horizon import _Horizon, _work_out_horizon
from solver.gaps.models import (
    ArrRule,
    GapPool,
    GapReport,
    GapRequest,
    GapSolverInfo,
    Hire,
    Managers,
    Quarter,
    QuarterPool,
    TotalCost,
    Trigger,
)
from solver.gaps.packing import _Packer
from solver.gaps.pool_quarter import ROUNDED_HOURS, _profile
from solver.gaps.quarters import _quarter_label
from solver.gaps.scenario import _scenario, _scenario_notes
from solver.gaps.triggers import ARR_RULE_BANDS, _evaluate_triggers, _TriggerState, arr_rule_csms
from solver.schema import CSM, Book, Policy


def _quarter_rows(h: _Horizon, cumulative: dict[PoolKey, list[int]]) -> list[Quarter]:
    rows = []
    for q in h.quarters:
        if q == 0:
            continue  # today is the pools' own figures
        start, end = h.starts[q], h.starts[q + 1]
        results = h.results[q]
        rows.append(
            Quarter(
                quarter=q,
                label=_quarter_label(start),
                start=start,
                end=end - dt.timedelta(days=1),
                csms_available=round(sum(r.available for r in results.values()), 2),
                hires_to_date=sum(cumulative[k][q] for k in h.keys),
                managers_needed_min=math.ceil(_team_size(h, q, cumulative) / rules.CSMS_PER_MANAGER[1]),
                pools=[
                    QuarterPool(
                        tier=k[0],
                        region=k[1],
                        accounts=results[k].accounts,
                        arr=round(results[k].arr, 2),
                        demand_hours=round(results[k].demand_hours, 2),
                        csms_needed=results[k].needed_csms,
                        proven=results[k].needed.proven,
                        csms_available=round(results[k].available, 2),
                        hires_needed=cumulative[k][q],
                        new_hires=cumulative[k][q] - cumulative[k][q - 1],
                    )
                    for k in h.keys
                ],
            )
        )
    return rows


def _pool_rows(h: _Horizon, cumulative: dict[PoolKey, list[int]], company_arr: float) -> list[GapPool]:
    rule_total = arr_rule_csms(company_arr)
    rows = []
    for key in h.keys:
        now = h.results[0][key]
        seats = h.seats.get(key, [])
        headcount = sum(s.weight for s in seats if not rules.csm_has_left(s.csm, h.today))
        hires_now = cumulative[key][0]
        gap: float = hires_now if hires_now > 0 else min(0.0, now.needed_csms - headcount)
        notes = list(dict.fromkeys(now.notes))
        lower_bound = now.needed_csms - now.needed.new_bins + now.needed.lower_bound
        if not now.needed.proven:
            why = ROUNDED_HOURS if ROUNDED_HOURS in now.needed.method else "in the time limit"
            notes.append(f"csms_needed not proven ({why}): between {lower_bound} and {now.needed_csms}")
        if any(ROUNDED_HOURS in h.results[q][key].hires.method for q in h.quarters):
            notes.append(f"hire counts may be above the least: {ROUNDED_HOURS}")
        elif not all(h.results[q][key].hires.proven for q in h.quarters):
            notes.append("some hire counts are not proven minimal in the time limit (first-fit upper bounds)")
        rows.append(
            GapPool(
                tier=key[0],
                region=key[1],
                accounts=now.accounts,
                arr=round(now.arr, 2),
                demand_hours=round(now.demand_hours, 2),
                capacity_hours=round(sum(s.weight * rules.capacity_hours(s.csm, h.policy) for s in seats), 2),
                csms=round(headcount, 2),
                csms_available=round(now.available, 2),
                csms_needed=now.needed_csms,
                csms_needed_lower_bound=lower_bound,
                proven=now.needed.proven,
                proof=now.needed.method,
                gap=round(gap, 2),
                hires=cumulative[key][-1],
                arr_rule_csms=round(rule_total * now.arr / company_arr, 2) if company_arr else 0.0,
                unserved_accounts=now.unserved,
                profile=_profile(h.policy, key[0])[0],
                notes=notes,
            )
        )
    return rows


def hiring_gaps(book: Book, request: GapRequest | None = None) -> GapReport:
    """The hiring-gap report of a book under a scenario (the book itself is left untouched)."""
    started = time.monotonic()
    request = request or GapRequest()
    scenario = _scenario(book, request)
    notes = _scenario_notes(scenario)
    packer = _Packer(request.time_limit_seconds, scenario.policy.seed)
    h = _work_out_horizon(scenario, request, packer)

    # A company with no CSM yet hires on the seeds' triggers, not on workload alone.
    active = [c for c in scenario.csms if not rules.csm_has_left(c, h.today)]
    no_csms = not active
    trigger_states, floors = _evaluate_triggers(h.accounts)
    notes.extend(_no_csm_notes(no_csms, floors))
    cumulative = _csm_hires_needed(h, no_csms, floors)

    lead = h.policy.hiring_lead_days + h.policy.ramp_days
    hires = _csm_hires(h, request, book.policy, cumulative, lead)
    hires.extend(_manager_hires(h, cumulative, lead))
    _sort_hires(hires, book.policy)
    late = sum(1 for x in hires if x.late)
    if late:
        notes.append(f"{late} hire(s) are late: their hire_by date has passed, hire now")

    # After hiring = at the end of the horizon: leavers gone, every hire on board.
    after = _team_size(h, h.quarters[-1], cumulative)
    company_arr = sum(r.arr for r in h.results[0].values())
    pools = _pool_rows(h, cumulative, company_arr)
    return GapReport(
        as_of=h.today,
        horizon_quarters=request.horizon_quarters,
        group_by=request.group_by,
        pools=pools,
        managers=_managers(after, active, hires),
        hires=hires,
        total_cost=_total_cost(hires),
        quarters=_quarter_rows(h, cumulative),
        triggers=_trigger_rows(trigger_states, h.starts, no_csms),
        arr_rule=ArrRule(
            company_arr=round(company_arr, 2),
            csms=round(arr_rule_csms(company_arr), 2),
            bands=list(ARR_RULE_BANDS),
        ),
        notes=notes,
        solver=GapSolverInfo(
            seconds=round(time.monotonic() - started, 3),
            packings=packer.packings,
            cp_sat_packings=packer.cp_sat,
            unproven_packings=packer.unproven,
            proven=packer.unproven == 0,
        ),
    )


def _no_csm_notes(no_csms: bool, floors: list[dict[PoolKey, int]]) -> list[str]:
    """For a company with no CSM yet: whether any trigger opened a pool over the horizon."""
    if no_csms and not any(floors):
        return ["no CSM yet and no hiring trigger fired over the horizon: the founders carry CS for now"]
    if no_csms:
        return [
            "no CSM yet: hires follow the seeds' triggers (see triggers); pools no trigger opened "
            "wait, however much workload they show"
        ]
    return []


def _csm_hires(
    h: _Horizon, request: GapRequest, policy: Policy, cumulative: dict[PoolKey, list[int]], lead: int
) -> list[Hire]:
    """One hire per CSM a pool adds in a quarter, at the level the request (else the policy) gives its tier."""
    hires: list[Hire] = []
    for key in h.keys:
        level = request.levels.get(key[0], rules.hire_level(policy, key[0]))
        for q in h.quarters:
            new = cumulative[key][q] - (cumulative[key][q - 1] if q else 0)
            hires.extend(
                _hire(key[0], key[1], level, q, h.starts, h.today, lead, h.results[q][key])
                for _ in range(new)
            )
    return hires


def _sort_hires(hires: list[Hire], policy: Policy) -> None:
    """Hires by the date they are needed by, then CSMs before managers, by segment order, then region."""
    order = rules.segment_order(policy)
    hires.sort(
        key=lambda x: (
            x.needed_by,
            x.tier is None,
            order.get(x.tier, len(order)) if x.tier else 0,
            x.region or "",
        )
    )


def _managers(after: int, active: list[CSM], hires: list[Hire]) -> Managers:
    """One CS Manager per 5–8 CSMs of the team after hiring, beside the managers there and hired."""
    low, high = rules.CSMS_PER_MANAGER
    return Managers(
        csms_after_hiring=after,
        managers_needed_min=math.ceil(after / high),
        managers_needed_max=math.ceil(after / low),
        managers=sum(1 for c in active if c.level == "cs_manager"),
        hires=sum(1 for x in hires if x.level == "cs_manager"),
    )


def _total_cost(hires: list[Hire]) -> TotalCost:
    return TotalCost(
        hires=len(hires),
        base_min=sum(x.base_range[0] for x in hires),
        base_max=sum(x.base_range[1] for x in hires),
        ote_min=sum(x.ote_range[0] for x in hires),
        ote_max=sum(x.ote_range[1] for x in hires),
    )


def _trigger_rows(trigger_states: list[_TriggerState], starts: list[dt.date], no_csms: bool) -> list[Trigger]:
    """Each trigger, fired or not and when; for a book with CSMs, marked as informational."""
    return [
        Trigger(
            name=t.name,
            fired=t.fired_quarter is not None,
            quarter=None
            if t.fired_quarter is None
            else ("now" if t.fired_quarter == 0 else _quarter_label(starts[t.fired_quarter])),
            value=round(t.value, 2),
            threshold=t.threshold,
            detail=t.detail,
            message=t.message + ("" if no_csms else " (informational: the book already has CSMs)"),
        )
        for t in trigger_states
    ]
