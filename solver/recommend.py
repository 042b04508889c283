"""Routing new accounts: which CSM should take each new customer, without moving anyone.

The accounts of one request are placed together like a small plan in which every existing assignment is
fixed: every hard rule holds for the whole batch, then (as a plan's priorities) the fewest CSMs outside a
band, then the lowest utilization. Each account then gets its CSMs ranked best first (its own placement
first) and the CSMs excluded, counted by rule.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from solver import policy as rules
from solver.problem import money
from solver.routing_book import (
    EPSILON,
    ZERO,
    CsmSeat,
    Figures,
    PoolBands,
    Profile,
    RoutingBook,
    account_figures,
    metric_values,
    outside_bands,
    outside_hours_band,
    outside_metric_bands,
    pool_bands,
)
from solver.schema import TIERS, Account

# Local search after the largest-first placement: bounded by steps and by time.
SEARCH_SECONDS = 3.0


class Candidate(BaseModel):
    csm: str
    name: str | None = None
    utilization_after: float
    hours_after: float
    capacity_hours: float
    arr_after: float
    accounts_after: int
    reasons: list[str] = Field(max_length=50)


class Exclusion(BaseModel):
    rule: str
    csms: int = Field(description="How many CSMs this rule excludes")
    reason: str = Field(description='In words, e.g. "9 CSMs: no 110 h free"')
    examples: list[str] = Field(
        default_factory=list, max_length=5, description="Up to five of the CSMs excluded"
    )


class Recommendation(BaseModel):
    account: str
    hours: float
    candidates: list[Candidate] = Field(max_length=50)
    excluded: list[Exclusion] = Field(max_length=20)
    pool: str | None = None
    note: str | None = Field(default=None, description="Why no CSM can take it, when none can")


@dataclass
class Unit:
    """New accounts that go to one CSM together: one account, or the new accounts of one parent."""

    index: int
    accounts: list[Account]
    figures: Figures
    profile: Profile  # which CSMs the pairwise rules (segment, region, language...) let serve it
    parent_block: str | None = None  # a parent in the book that no CSM of it can take this unit for
    parent_csm: int | None = None  # the seat the parent's accounts are with
    placed: int | None = None


@dataclass
class Batch:
    """The request being placed: per-CSM load of the batch so far and each pool's band centres."""

    routing: RoutingBook
    units: list[Unit]
    loads: list[Figures] = field(default_factory=list)  # per CSM: the book's load plus the batch's so far
    bands: list[PoolBands] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loads = [s.load for s in self.routing.seats]

    def load(self, seat: int) -> Figures:
        """What the CSM carries: the book's accounts and the batch's placed so far."""
        return self.loads[seat]

    def put(self, unit: Unit, seat: int | None) -> None:
        """Give the unit to `seat` (None: take it back), moving its figures with it."""
        if unit.placed is not None:
            self.loads[unit.placed] = self.loads[unit.placed] - unit.figures
        unit.placed = seat
        if seat is not None:
            self.loads[seat] = self.loads[seat] + unit.figures


def new_units(routing: RoutingBook, accounts: list[Account]) -> list[Unit]:
    """New accounts of one parent go together; a parent already in the book binds them to its CSM."""
    pol, today = routing.policy, routing.today
    groups: dict[str, list[Account]] = {}
    order: list[list[Account]] = []
    for a in accounts:
        if a.parent_id is None:
            order.append([a])
        elif a.parent_id in groups:
            groups[a.parent_id].append(a)
        else:
            groups[a.parent_id] = [a]
            order.append(groups[a.parent_id])
    units: list[Unit] = []
    for members in order:
        figures = ZERO
        for a in members:
            figures = figures + account_figures(a, pol, today)
        profile = routing.merged_profile([routing.profile(a) for a in members])
        unit = Unit(len(units), members, figures, profile)
        parent = members[0].parent_id
        holders = routing.parent_csms.get(parent) if parent is not None else None
        if holders:
            if len(holders) == 1:
                (holder,) = holders
                unit.parent_csm = routing.seat_index[holder]
            else:
                unit.parent_block = (
                    f"parent {parent}'s accounts are with {len(holders)} CSMs ({', '.join(sorted(holders))}): "
                    "plan the book to bring them together first"
                )
        units.append(unit)
    return units


def cap_rule(seat: CsmSeat, load: Figures, unit: Figures) -> str | None:
    """The cap taking the unit would break: capacity hours, the ARR cap or the book-size cap (None: fits)."""
    if load.hours + unit.hours > seat.capacity + 1e-6:
        return "capacity_hours"
    if seat.arr_cap is not None and load.arr + unit.arr > seat.arr_cap + 1e-6 * max(1.0, seat.arr_cap):
        return "arr_cap"
    if seat.max_accounts is not None and load.accounts + unit.accounts > seat.max_accounts:
        return "max_accounts"
    return None


def blocking_rule(batch: Batch, unit: Unit, seat: int) -> str | None:
    """Why this CSM cannot take the unit now: a pairwise rule, the parent's CSM, or a cap (None: can)."""
    rule = unit.profile.rules[seat]
    if rule is not None:
        return rule
    if unit.parent_block is not None:
        return "parent"
    if unit.parent_csm is not None and unit.parent_csm != seat:
        return "parent"
    return cap_rule(batch.routing.seats[seat], batch.load(seat), unit.figures)


def rank_key(batch: Batch, unit: Unit, seat: int) -> tuple[int, float, float]:
    """A plan's priorities for one choice: CSMs newly outside a band, then utilization after, then the
    distance of the balance metrics from their centres."""
    routing = batch.routing
    s = routing.seats[seat]
    if s.capacity <= 0:
        return (0, float("inf"), 0.0)
    before = batch.loads[seat]
    bands = batch.bands[s.pool]
    hours_after = before.hours + unit.figures.hours
    was = outside_hours_band(routing, s, before.hours, bands)
    now = outside_hours_band(routing, s, hours_after, bands)
    spread = 0.0
    if routing.policy.balance_metrics:
        after = before + unit.figures
        was = was or bool(outside_metric_bands(routing, s, before, bands))
        now = now or bool(outside_metric_bands(routing, s, after, bands))
        for metric in routing.policy.balance_metrics:
            for value, centre in zip(metric_values(after, metric), bands.metrics[metric], strict=True):
                if centre > 0:
                    spread += abs(value / s.capacity - centre) / centre
    return (int(now) - int(was), hours_after / s.capacity, spread)


def feasible_seats(batch: Batch, unit: Unit) -> list[int]:
    """The CSMs who may take the unit now: every hard rule, with the batch placed so far counted."""
    seats = unit.profile.eligible if unit.parent_csm is None else (unit.parent_csm,)
    return [c for c in seats if blocking_rule(batch, unit, c) is None]


def _unit_pool(routing: RoutingBook, unit: Unit) -> int | None:
    """The pool most of the unit's eligible CSMs are in (where its hours count for the band centres)."""
    counts: dict[int, int] = defaultdict(int)
    for i in unit.profile.eligible:
        if routing.seats[i].pool >= 0:
            counts[routing.seats[i].pool] += 1
    if unit.parent_csm is not None and routing.seats[unit.parent_csm].pool >= 0:
        return routing.seats[unit.parent_csm].pool
    return max(counts, key=lambda p: counts[p]) if counts else None


def place_batch(routing: RoutingBook, accounts: list[Account], *, seconds: float = SEARCH_SECONDS) -> Batch:
    """Largest first, each unit on its best CSM by the plan's priorities; then lower each pool's largest
    utilization by moving or swapping new accounts (existing ones never move)."""
    units = new_units(routing, accounts)
    batch = Batch(routing, units)
    added: dict[int, Figures] = defaultdict(lambda: ZERO)
    for unit in units:
        pool = _unit_pool(routing, unit)
        if pool is not None:
            added[pool] = added[pool] + unit.figures
    batch.bands = [pool_bands(routing, p, added[p]) for p in range(len(routing.pools))]
    for unit in sorted(units, key=lambda u: (u.parent_csm is None, -u.figures.hours, u.index)):
        options = feasible_seats(batch, unit)
        if options:
            batch.put(unit, min(options, key=lambda c: (rank_key(batch, unit, c), c)))
    if len(units) > 1:
        lower_pool_peaks(batch, time.monotonic() + seconds)
    return batch


def route_one_by_one(routing: RoutingBook, accounts: list[Account]) -> dict[str, str | None]:
    """Each account routed alone in arrival order against the book as the previous ones left it (what
    one-account requests with `assign: true` do, with no look-ahead): account id -> CSM, or None."""
    batch = Batch(routing, new_units(routing, accounts))
    added: dict[int, Figures] = defaultdict(lambda: ZERO)
    chosen: dict[str, str | None] = {}
    for unit in batch.units:
        pool = _unit_pool(routing, unit)
        if pool is not None:
            added[pool] = added[pool] + unit.figures
        batch.bands = [pool_bands(routing, p, added[p]) for p in range(len(routing.pools))]
        options = feasible_seats(batch, unit)
        if options:
            batch.put(unit, min(options, key=lambda c: (rank_key(batch, unit, c), c)))
        else:  # not routed: its hours do not join the pool
            if pool is not None:
                added[pool] = added[pool] - unit.figures
        for a in unit.accounts:
            chosen[a.id] = routing.seats[unit.placed].id if unit.placed is not None else None
    return chosen


def _utilization(batch: Batch, seat: int) -> float:
    s = batch.routing.seats[seat]
    return batch.load(seat).hours / s.capacity if s.capacity > 0 else 0.0


def _outside(batch: Batch, seat: int, figures: Figures) -> int:
    s = batch.routing.seats[seat]
    return int(bool(outside_bands(batch.routing, s, figures, batch.bands[s.pool])))


def lower_pool_peaks(batch: Batch, deadline: float) -> None:
    """Repeatedly take the most utilized CSM holding new accounts and move one of them, or swap it for a
    lighter one, so that both CSMs end below that peak and no more CSMs leave a band."""
    by_seat: dict[int, list[Unit]] = defaultdict(list)
    for u in batch.units:
        if u.placed is not None:
            by_seat[u.placed].append(u)
    for members in batch.routing.pools:
        stuck: set[int] = set()
        for _ in range(20 * len(members) + 200):
            if time.monotonic() > deadline:
                return
            top = max(
                (c for c in members if c not in stuck), key=lambda c: _utilization(batch, c), default=None
            )
            if top is None or not by_seat[top]:
                break
            if not _improve_peak(batch, top, by_seat):
                stuck.add(top)
                # A CSM at the peak that nothing can lower is the pool's level: stop there.
                break


def _improve_peak(batch: Batch, top: int, by_seat: dict[int, list[Unit]]) -> bool:
    seats = batch.routing.seats
    peak = _utilization(batch, top)
    top_load = batch.load(top)
    best: tuple[float, Unit, int, Unit | None] | None = None
    for unit in sorted(by_seat[top], key=lambda u: -u.figures.hours):
        if unit.parent_csm is not None:
            continue
        for d in unit.profile.eligible:
            if d == top or seats[d].capacity <= 0:
                continue
            d_load = batch.load(d)
            if cap_rule(seats[d], d_load, unit.figures) is None:
                after = (d_load.hours + unit.figures.hours) / seats[d].capacity
                better = after < peak - EPSILON and (best is None or after < best[0])
                if better and _band_ok(batch, top, top_load - unit.figures, d, d_load + unit.figures):
                    best = (after, unit, d, None)
                continue
            for other in by_seat[d]:
                if other.parent_csm is not None or other.figures.hours >= unit.figures.hours:
                    continue
                if other.profile.rules[top] is not None:
                    continue
                new_top = top_load - unit.figures + other.figures
                new_d = d_load - other.figures + unit.figures
                worst = max(new_top.hours / seats[top].capacity, new_d.hours / seats[d].capacity)
                if worst >= peak - EPSILON or (best is not None and worst >= best[0]):
                    continue
                if cap_rule(seats[top], top_load - unit.figures, other.figures) is not None:
                    continue
                if cap_rule(seats[d], d_load - other.figures, unit.figures) is not None:
                    continue
                if _band_ok(batch, top, new_top, d, new_d):
                    best = (worst, unit, d, other)
    if best is None:
        return False
    _, moved, d, swapped = best
    batch.put(moved, d)
    by_seat[top].remove(moved)
    by_seat[d].append(moved)
    if swapped is not None:
        batch.put(swapped, top)
        by_seat[d].remove(swapped)
        by_seat[top].append(swapped)
    return True


def _band_ok(batch: Batch, a: int, a_after: Figures, b: int, b_after: Figures) -> bool:
    """A change between two CSMs keeps the count of CSMs outside a band from rising."""
    before = _outside(batch, a, batch.load(a)) + _outside(batch, b, batch.load(b))
    return _outside(batch, a, a_after) + _outside(batch, b, b_after) <= before


# ---------------------------------------------------------------- the answer


RULE_WORDS = {
    "left": "left the company",
    "accepting_new": "not accepting new accounts",
    "max_accounts": "book full (max_accounts)",
}


def _hours(h: float) -> str:
    return f"{h:,.0f} h" if abs(h - round(h)) < 1e-9 else f"{h:,.1f} h"


def _segment(batch: Batch, tier: str) -> str:
    return tier.replace("_", "-") if tier in TIERS else rules.segment_label(batch.routing.policy, tier)


def exclusion_words(batch: Batch, unit: Unit, rule: str) -> str:
    """The rule in CS ops words, for this unit (e.g. "no 110 h free", "other region")."""
    a = unit.accounts[0]
    if rule == "segment":
        pooled = rules.is_pooled_segment(batch.routing.policy, a.tier)
        return f"do not cover {_segment(batch, a.tier)}" + (" (a pooled program serves it)" if pooled else "")
    if rule == "region":
        return f"other region (not {a.region})"
    if rule == "language":
        return f"do not speak {a.language}"
    if rule == "parent":
        if unit.parent_block is not None:
            return unit.parent_block
        holder = batch.routing.seats[unit.parent_csm or 0].id
        return f"parent {a.parent_id} is with {holder}"
    if rule == "capacity_hours":
        return f"no {_hours(unit.figures.hours)} free"
    if rule == "arr_cap":
        return f"ARR cap: no room for {money(unit.figures.arr)} more"
    if rule == "taken_by_batch":
        return "room taken by this request's other new accounts"
    return RULE_WORDS.get(rule, rule)


def exclusions(batch: Batch, unit: Unit) -> list[Exclusion]:
    """Every CSM who cannot take the unit, counted by the first rule that stops them."""
    seats = batch.routing.seats
    by_rule: dict[str, list[str]] = defaultdict(list)
    for rule, ids in unit.profile.excluded.items():
        by_rule[rule].extend(ids)
    for c in unit.profile.eligible:
        seat = seats[c]
        blocked = blocking_rule(batch, unit, c)
        if blocked is None:
            continue
        rule = blocked
        if (
            rule in ("capacity_hours", "arr_cap", "max_accounts")
            and cap_rule(seat, seat.load, unit.figures) is None
        ):
            rule = "taken_by_batch"  # the book alone has room: this request's other accounts took it
        by_rule[rule].append(seat.id)
    out = []
    for rule, ids in sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        n = len(ids)
        words = exclusion_words(batch, unit, rule)
        out.append(
            Exclusion(rule=rule, csms=n, reason=f"{n} CSM{'s' if n != 1 else ''}: {words}", examples=ids[:5])
        )
    return out


def candidate(batch: Batch, unit: Unit, seat: int) -> Candidate:
    """A CSM able to take the unit: their figures after taking it and why they fit."""
    routing = batch.routing
    s = routing.seats[seat]
    after = batch.load(seat) + unit.figures
    a = unit.accounts[0]
    utilization = after.hours / s.capacity if s.capacity > 0 else 0.0
    reasons = [f"covers {_segment(batch, a.tier)}"]
    if a.region is not None and routing.policy.region_match != "off":
        reasons.append(f"covers {a.region}")
    if a.language is not None and routing.policy.language_match != "off":
        reasons.append(f"speaks {a.language}")
    if unit.parent_csm == seat:
        reasons.append(f"already serves parent {a.parent_id}")
    if len(unit.accounts) > 1:
        reasons.append(f"takes the {len(unit.accounts)} new accounts of parent {a.parent_id} together")
    reasons.append(f"{_hours(after.hours)} of {_hours(s.capacity)} after ({utilization:.1%})")
    if s.ramping:
        reasons.append(f"ramping: {_hours(s.capacity)} this year of {_hours(s.full_capacity)} at full speed")
    bands = batch.bands[s.pool]
    outside = outside_bands(routing, s, after, bands)
    tol = routing.policy.balance_tolerance
    if "hours" in outside:
        reasons.append(f"outside the hours band ({bands.hours:.0%} ± {tol:.0%})")
    else:
        reasons.append(f"inside the hours band ({bands.hours:.0%} ± {tol:.0%})")
    for name in outside:
        if name != "hours":
            reasons.append(f"outside the {name} band")
    if s.arr_cap is not None:
        reasons.append(f"ARR {money(after.arr)} of a {money(s.arr_cap)} cap")
    return Candidate(
        csm=s.id,
        name=s.csm.name,
        utilization_after=round(utilization, 4),
        hours_after=round(after.hours, 2),
        capacity_hours=round(s.capacity, 2),
        arr_after=after.arr,
        accounts_after=after.accounts,
        reasons=reasons,
    )


def no_candidate_note(batch: Batch, unit: Unit, excluded: list[Exclusion]) -> str:
    """Why nobody can take the unit, in one sentence: the parent's CSM and what stops them, or the rules."""
    a = unit.accounts[0]
    if unit.parent_block is not None:
        return unit.parent_block
    if unit.parent_csm is not None:
        holder = batch.routing.seats[unit.parent_csm]
        rule = blocking_rule(batch, unit, unit.parent_csm) or "capacity_hours"
        return f"parent {a.parent_id} is with {holder.id}, who cannot take it: {exclusion_words(batch, unit, rule)}"
    return "no CSM can take it: " + "; ".join(e.reason for e in excluded)


def recommendations_for(batch: Batch, unit: Unit, top: int) -> list[Recommendation]:
    """The unit's ranked candidates (its placement first) and exclusions, one entry per account."""
    placed = unit.placed
    batch.put(unit, None)  # rank against the rest of the batch as placed
    try:
        options = sorted(feasible_seats(batch, unit), key=lambda c: (rank_key(batch, unit, c), c))
        if placed is not None:
            options = [placed, *[c for c in options if c != placed]]
        chosen = [candidate(batch, unit, c) for c in options[:top]]
        excluded = exclusions(batch, unit)
    finally:
        batch.put(unit, placed)
    pool = batch.routing.seats[placed].pool if placed is not None else None
    name = batch.routing.pool_names[pool] if pool is not None and pool >= 0 else None
    note = None if chosen else no_candidate_note(batch, unit, excluded)
    return [
        Recommendation(
            account=a.id,
            hours=round(account_figures(a, batch.routing.policy, batch.routing.today).hours, 2),
            candidates=chosen,
            excluded=excluded,
            pool=name,
            note=note,
        )
        for a in unit.accounts
    ]


def recommend(
    routing: RoutingBook, accounts: list[Account], top: int = 3, *, seconds: float = SEARCH_SECONDS
) -> list[Recommendation]:
    """For each new account, in the request's order: its CSMs best first and the CSMs excluded, by rule."""
    batch = place_batch(routing, accounts, seconds=seconds)
    by_account: dict[str, Recommendation] = {}
    for unit in batch.units:
        for rec in recommendations_for(batch, unit, top):
            by_account[rec.account] = rec
    return [by_account[a.id] for a in accounts]
