"""One pool in one quarter: the CSMs its accounts need (a packing into CSMs of the pool's profile, pinned
and frozen accounts held where they are) and the hires that, added to the team there that quarter, let every
account be served."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from solver import policy as rules
from solver.gaps.demand import _Acct
from solver.gaps.models import PoolProfile
from solver.gaps.packing import UNCAPPED, Packing, Vec, _fits, _Packer, _served_by_team
from solver.gaps.team import _availability, _Seat
from solver.problem import HOURS_SCALE, on_grid, scale_capacity, scale_hours
from solver.schema import Policy, Tier


@dataclass
class _PoolQuarter:
    accounts: int
    arr: float
    demand_hours: float
    needed: Packing
    needed_csms: int
    hires: Packing
    hires_needed: int
    available: float
    unserved: int
    notes: list[str]


def _profile(policy: Policy, tier: Tier) -> tuple[PoolProfile, Vec]:
    resolved = rules.resolve_tier(policy, tier)
    profile = PoolProfile(
        capacity_hours=policy.capacity_hours, arr_cap=resolved.arr_cap, max_accounts=resolved.max_accounts
    )
    vec = (
        scale_capacity(policy.capacity_hours),
        UNCAPPED if resolved.arr_cap is None else math.floor(resolved.arr_cap),
        UNCAPPED if resolved.max_accounts is None else resolved.max_accounts,
    )
    return profile, vec


def _groups(accts: list[_Acct], notes: list[str]) -> list[tuple[Vec, str | None, list[_Acct]]]:
    """Parent groups (one CSM for all the accounts of a parent), each with the CSM that holds it, if any."""
    groups: list[tuple[Vec, str | None, list[_Acct]]] = []
    by_parent: dict[str, list[_Acct]] = defaultdict(list)
    for a in accts:
        if a.account.parent_id is None:
            groups.append(((scale_hours(a.hours), round(a.arr), 1), a.frozen_to, [a]))
        else:
            by_parent[a.group].append(a)
    for members in by_parent.values():
        holders = list(dict.fromkeys(m.frozen_to for m in members if m.frozen_to))
        if len(holders) > 1:
            notes.append(
                f"parent {members[0].account.parent_id}: accounts frozen with {', '.join(holders)}; "
                f"kept with {holders[0]}"
            )
        vec = (
            scale_hours(sum(m.hours for m in members)),  # rounded up once, on the parent's sum
            sum(round(m.arr) for m in members),
            len(members),
        )
        groups.append((vec, holders[0] if holders else None, members))
    return groups


def _solve_pool_quarter(
    packer: _Packer,
    accts: list[_Acct],
    seats: list[_Seat],
    profile_vec: Vec,
    policy: Policy,
    start: dt.date,
    end: dt.date,
    count_unserved: bool,
) -> _PoolQuarter:
    """The pool's need (its groups packed into CSMs of its profile) and its hires (into the team's room)."""
    notes: list[str] = []
    groups = _groups(accts, notes)
    seat_by_id = {s.csm.id: s for s in seats}
    team, available, team_hours = _team_room(seats, policy, start, end)
    placed = _place_groups(groups, _Team(team, team_hours, seat_by_id), profile_vec, notes)
    pinned_bins = _pinned_bins(placed, profile_vec, policy.capacity_hours, notes)
    needed = packer.pack(dict(placed.free), pinned_bins, profile_vec)
    rounded = any(not on_grid(a.hours) for a in accts)
    if rounded:
        was_proven = needed.proven
        needed = _rounded_hours_need(needed, placed, profile_vec, policy)
        packer.unproven += was_proven and not needed.proven
    existing = _team_bins(team, seat_by_id, notes)
    hires = packer.pack(dict(placed.free_for_team), existing, profile_vec)
    if rounded and hires.new_bins > 0:
        packer.unproven += hires.proven
        hires = Packing(hires.new_bins, 0, False, hires.method + ", " + ROUNDED_HOURS)
    unserved = _unserved(placed.free_for_team, existing) if count_unserved else 0
    return _PoolQuarter(
        accounts=len(accts),
        arr=sum(a.arr for a in accts),
        demand_hours=sum(a.hours for a in accts),
        needed=needed,
        needed_csms=len(pinned_bins) + placed.dedicated + needed.new_bins,
        hires=hires,
        hires_needed=hires.new_bins + placed.dedicated_hires,
        available=available,
        unserved=unserved,
        notes=notes,
    )


ROUNDED_HOURS = "hours finer than a hundredth rounded up"


def _rounded_hours_need(needed: Packing, placed: _Placement, profile_vec: Vec, policy: Policy) -> Packing:
    """Hours finer than a hundredth are packed rounded up, so the count may be above the least: it is not
    proven, and its lower bound is the one the book's own hours and book sizes give (the free accounts'
    hours, and their number, over what one more CSM of the profile holds, less the pinned CSMs' room)."""
    cap = policy.capacity_hours
    spare_hours = sum(max(0.0, cap - h) for h in placed.need_held_hours.values())
    hours_bound = math.ceil(max(0.0, placed.free_exact_hours - spare_hours) / cap - 1e-9) if cap > 0 else 0
    free_count = sum(v[2] * n for v, n in placed.free.items())
    count_bound = 0
    if profile_vec[2] < UNCAPPED and profile_vec[2] > 0:
        spare_count = sum(max(0, profile_vec[2] - held[2]) for held in placed.profile_held.values())
        count_bound = math.ceil(max(0, free_count - spare_count) / profile_vec[2])
    lower = min(needed.lower_bound, max(hours_bound, count_bound))
    if needed.new_bins <= lower:
        return Packing(needed.new_bins, lower, needed.proven, needed.method)  # the book's own bound meets it
    return Packing(needed.new_bins, lower, False, needed.method + ", " + ROUNDED_HOURS)


def _team_room(
    seats: list[_Seat], policy: Policy, start: dt.date, end: dt.date
) -> tuple[dict[str, list[int]], float, dict[str, float]]:
    """The team this quarter: each CSM's room in this pool, their average speed over the quarter counted,
    and the full-time equivalents of the pool's profile that makes; and each one's hours unrounded."""
    team: dict[str, list[int]] = {}
    hours: dict[str, float] = {}
    available = 0.0
    for seat in seats:
        share = _availability(seat.csm, start, end, policy.ramp_days) * seat.weight
        if share <= 0:
            continue
        full = rules.full_capacity_hours(seat.csm, policy)
        arr_cap = rules.csm_arr_cap(seat.csm, policy)
        max_accounts = rules.csm_max_accounts(seat.csm, policy)
        available += share * full / policy.capacity_hours if policy.capacity_hours else 0.0
        hours[seat.csm.id] = full * share
        team[seat.csm.id] = [
            math.floor(scale_capacity(full) * share),
            UNCAPPED if arr_cap is None else math.floor(arr_cap * seat.weight),
            UNCAPPED if max_accounts is None else math.floor(max_accounts * seat.weight),
        ]
    return team, available, hours


@dataclass
class _Placement:
    """Where a pool's groups go. For the need: into a pinned CSM's profile bin (`profile_held`), a CSM of
    their own when larger than one (`dedicated`), else free to pack. For the team: kept by a CSM there, the
    oversize group's own current CSM or a hire of its own (`dedicated_hires`), else free to pack."""

    profile_held: dict[str, list[int]] = field(default_factory=dict)
    free: defaultdict[Vec, int] = field(default_factory=lambda: defaultdict(int))
    free_for_team: defaultdict[Vec, int] = field(default_factory=lambda: defaultdict(int))
    dedicated: int = 0
    dedicated_hires: int = 0
    # The exact hours each CSM keeps (for the need: pinned; for the team: kept), rounded once on the sum.
    need_held_hours: dict[str, float] = field(default_factory=dict)
    team_held_hours: dict[str, float] = field(default_factory=dict)
    free_exact_hours: float = 0.0  # the hours of the groups free to pack for the need, unrounded


def _held_hours_added(totals: dict[str, float], who: str, hours: float) -> int:
    """The scaled hours a kept group adds to what `who` keeps. The sum is rounded up to the hundredth once,
    not each group: three pinned 33.333 h accounts fill a 100 h CSM, as they do in the book."""
    before = scale_hours(totals[who]) if who in totals else 0
    totals[who] = totals.get(who, 0.0) + hours
    return scale_hours(totals[who]) - before


@dataclass
class _Team:
    """The team there this quarter: each CSM's room (scaled hours, ARR, accounts), their hours unrounded,
    and their seats."""

    room: dict[str, list[int]]
    hours: dict[str, float]
    seat_by_id: dict[str, _Seat]

    def take(self, placed: _Placement, c: str, vec: Vec, hours: float) -> None:
        """`c` takes a group: their ARR and book-size room fall by the group's; their hours room is what
        the book's hours leave of their capacity, rounded down once (negative when over)."""
        held = placed.team_held_hours[c] = placed.team_held_hours.get(c, 0.0) + hours
        room = self.room[c]
        room[0] = scale_capacity(self.hours[c] - held)
        room[1] -= vec[1]
        room[2] -= vec[2]


def _place_groups(
    groups: list[tuple[Vec, str | None, list[_Acct]]], team: _Team, profile_vec: Vec, notes: list[str]
) -> _Placement:
    """Each group placed for the need and for the team, in order. A group kept by a CSM comes out of their
    room in the team; a CSM whose oversize group fills them alone leaves it."""
    placed = _Placement()
    for vec, holder, members in groups:
        oversize = not _fits(vec, profile_vec)
        current = members[0].account.current_csm
        keeper = _keeper(holder, current, team.room, team.seat_by_id)
        hours = sum(m.hours for m in members)
        if keeper is not None:
            team.take(placed, keeper, vec, hours)
        _place_for_need(placed, vec, holder, members, oversize, notes)
        if keeper is None:
            _place_for_team(placed, vec, hours, current, oversize, team)
    return placed


def _keeper(
    holder: str | None, current: str | None, team: dict[str, list[int]], seat_by_id: dict[str, _Seat]
) -> str | None:
    """Who keeps a group for the team: the CSM a freeze holds it with, if there this quarter; else its current
    CSM when there but not accepting new accounts (they keep the ones they have: for the team, held too)."""
    if holder in team:
        return holder
    if current in team and current is not None and not seat_by_id[current].csm.accepting_new:
        return current
    return None


def _place_for_need(
    placed: _Placement, vec: Vec, holder: str | None, members: list[_Acct], oversize: bool, notes: list[str]
) -> None:
    """What a pinned CSM holds goes in a profile bin of theirs; a group larger than a whole CSM needs a CSM
    of its own (the plan will flag it too); any other group is free to pack."""
    if holder is not None:
        held = placed.profile_held.setdefault(holder, [0, 0, 0])
        held[0] += _held_hours_added(placed.need_held_hours, holder, sum(m.hours for m in members))
        held[1] += vec[1]
        held[2] += vec[2]
    elif oversize:
        placed.dedicated += 1
        notes.append(_oversize_note(vec, members))
    else:
        placed.free[vec] += 1
        placed.free_exact_hours += sum(m.hours for m in members)


def _place_for_team(
    placed: _Placement, vec: Vec, hours: float, current: str | None, oversize: bool, team: _Team
) -> None:
    """A group nobody keeps: if oversize, its current CSM, if still here (and holding no pins), is the CSM
    it needs; else a CSM there with room for it (the one with the least such room), else a hire of its own.
    Any other group is free to pack into the team and hires."""
    if oversize:
        if current in team.room and current not in placed.profile_held:
            team.room.pop(current)
            return
        roomy = [
            c
            for c, room in team.room.items()
            if team.seat_by_id[c].csm.accepting_new and all(room[d] >= vec[d] for d in range(3))
        ]
        if roomy:
            team.take(placed, min(roomy, key=lambda c: (team.room[c][0], c)), vec, hours)
        else:
            placed.dedicated_hires += 1
    else:
        placed.free_for_team[vec] += 1


def _oversize_note(vec: Vec, members: list[_Acct]) -> str:
    parent = members[0].account.parent_id
    what = f"parent {parent} ({len(members)} accounts)" if parent else f"account {members[0].account.id}"
    return (
        f"{what}: {vec[0] / HOURS_SCALE:,.0f} h, ${vec[1]:,} ARR is more than one CSM of the pool's "
        f"profile can carry; counted as one CSM of its own"
    )


def _pinned_bins(placed: _Placement, profile_vec: Vec, capacity_hours: float, notes: list[str]) -> list[Vec]:
    """A profile bin per pinned CSM, with the room their pinned and frozen accounts leave (hours: the
    book's own, rounded down once on the room)."""
    pinned_bins: list[Vec] = []
    for holder, held in placed.profile_held.items():
        room = capacity_hours - placed.need_held_hours.get(holder, 0.0)
        hours_room = scale_capacity(room) if room >= 0 else profile_vec[0] - held[0]
        spare = (hours_room, profile_vec[1] - held[1], profile_vec[2] - held[2])
        if min(spare) < 0:
            notes.append(f"{holder}: pinned and frozen accounts alone exceed one CSM of the pool's profile")
        pinned_bins.append((max(0, spare[0]), max(0, spare[1]), max(0, spare[2])))
    return pinned_bins


def _team_bins(team: dict[str, list[int]], seat_by_id: dict[str, _Seat], notes: list[str]) -> list[Vec]:
    """The room each CSM there has left for more accounts (none for those not accepting new ones)."""
    existing: list[Vec] = []
    for csm_id, room in team.items():
        seat = seat_by_id[csm_id]
        if min(room) < 0:
            notes.append(f"{csm_id}: over capacity with the accounts frozen with them")
        if not seat.csm.accepting_new:
            continue  # keeps the accounts they have, takes no others
        existing.append((max(0, room[0]), max(0, room[1]), max(0, room[2])))
    return existing


def _unserved(free_for_team: dict[Vec, int], existing: list[Vec]) -> int:
    """Accounts free to move that the team there now cannot carry without hires."""
    return sum(v[2] * n for v, n in free_for_team.items()) - _served_by_team(dict(free_for_team), existing)
