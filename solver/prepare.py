"""Turns a Book into the engine's working form: units, eligibility, frozen assignments and pools.

A *unit* is what the engine assigns: one account, or all the accounts of one parent company (they go to
one CSM together). A *pool* is a connected group of CSMs and units (units only its CSMs may serve), so
pools are solved independently. Its data classes, and the scaling of hours to integers (done once, and
nowhere else), are in `solver/problem.py`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Set as AbstractSet

from solver import policy as rules
from solver.metrics import account_figure, balance_bands
from solver.pin_diagnosis import forced_moves_diagnosis, frozen_overload_diagnosis
from solver.problem import CsmInfo, Pool, Problem, Unit, on_grid, scale_capacity, scale_hours
from solver.schema import CSM, TIERS, Account, Book, Diagnosis, Pair, Policy


def _no_csm_reason(account: Account, csms: list[CSM], today: dt.date, book: Book) -> str:
    """Say, in CS ops words, why no CSM can take this account."""
    pol = book.policy
    active = [c for c in csms if not rules.csm_has_left(c, today)]
    tier = [c for c in active if account.tier in c.tiers]
    what = account.tier.replace("_", "-") if account.tier in TIERS else rules.segment_label(pol, account.tier)
    if rules.is_pooled_segment(pol, account.tier) and not tier:
        return f"{what} account: served by the pooled program (no CSM covers {account.tier})"
    if not tier:
        return f"no active CSM covers {what} accounts"
    if pol.region_match == "hard" and account.region is not None:
        tier = [c for c in tier if c.regions is None or account.region in c.regions]
        if not tier:
            return f"no {what} CSM covers region {account.region}"
    if pol.language_match == "hard" and account.language is not None:
        tier = [c for c in tier if c.languages is None or account.language in c.languages]
        if not tier:
            where = f" in {account.region}" if account.region else ""
            return f"no {what} CSM{where} speaks {account.language}"
    if not any(c.accepting_new for c in tier):
        return f"every {what} CSM who could serve it is not accepting new accounts"
    return "every CSM who could serve it is excluded by pair overrides (allowed: false)"


def build_problem(book: Book) -> Problem:
    pol = book.policy
    today = rules.as_of(pol)
    diagnosis: list[Diagnosis] = []
    csm_index = {c.id: i for i, c in enumerate(book.csms)}
    csms = [
        CsmInfo(
            index=i,
            csm=c,
            capacity=scale_capacity(rules.capacity_hours(c, pol)),
            capacity_hours=rules.capacity_hours(c, pol),
            full_capacity=rules.full_capacity_hours(c, pol),
            arr_cap=rules.csm_arr_cap(c, pol),
            max_accounts=rules.csm_max_accounts(c, pol),
            left=rules.csm_has_left(c, today),
        )
        for i, c in enumerate(book.csms)
    ]
    pairs: dict[int, dict[int, Pair]] = defaultdict(dict)
    account_index = {a.id: i for i, a in enumerate(book.accounts)}
    for p in book.pairs:
        pairs[account_index[p.account]][csm_index[p.csm]] = p

    # Eligibility is computed once per (tier, region, language) profile, then adjusted per account for
    # CSMs not accepting new accounts (they keep their own) and for pair overrides.
    open_by_key: dict[tuple[str, str | None, str | None], tuple[list[int], set[int]]] = {}
    account_eligible: list[list[int]] = []
    for i, a in enumerate(book.accounts):
        key = (a.tier, a.region, a.language)
        if key not in open_by_key:
            probe = a.model_copy(update={"current_csm": None})
            open_ids, closed_ids = [], set()
            for info in csms:
                if rules.eligibility_problem(probe, info.csm, None, pol, today=today) is None:
                    open_ids.append(info.index)
                elif (
                    not info.csm.accepting_new
                    and rules.eligibility_problem(
                        probe.model_copy(update={"current_csm": info.id}), info.csm, None, pol, today=today
                    )
                    is None
                ):
                    closed_ids.add(info.index)
            open_by_key[key] = (open_ids, closed_ids)
        open_ids, closed_ids = open_by_key[key]
        elig = open_ids
        cur = csm_index.get(a.current_csm) if a.current_csm is not None else None
        if cur is not None and cur in closed_ids:
            elig = sorted([*open_ids, cur])
        if i in pairs:
            banned = {c for c, p in pairs[i].items() if not p.allowed}
            if banned:
                elig = [c for c in elig if c not in banned]
        account_eligible.append(elig)

    # Parent companies: accounts sharing parent_id form one unit.
    groups: dict[str, list[int]] = defaultdict(list)
    order: list[list[int]] = []
    for i, a in enumerate(book.accounts):
        if a.parent_id is None:
            order.append([i])
        else:
            if a.parent_id not in groups:
                order.append(groups[a.parent_id])
            groups[a.parent_id].append(i)

    units: list[Unit] = []
    unit_of_account = [0] * len(book.accounts)
    for members in order:
        u = _make_unit(len(units), members, book, csms, csm_index, account_eligible, pairs, today, diagnosis)
        for i in members:
            unit_of_account[i] = u.index
        units.append(u)

    pools = _pools(units, csms, book)
    has_current = any(a.current_csm is not None for a in book.accounts)
    bands = balance_bands(book)
    for u in units if bands else ():
        u.figures = tuple(
            math.ceil(sum(account_figure(book.accounts[i], b, book, today) for i in u.accounts) - 1e-9)
            for b in bands
        )
    problem = Problem(
        book, today, csms, units, pools, unit_of_account, csm_index, diagnosis, has_current, bands
    )
    give_back_fixed_rounding(problem)
    diagnosis.extend(frozen_overload_diagnosis(problem))
    diagnosis.extend(forced_moves_diagnosis(problem))
    return problem


def give_back_fixed_rounding(problem: Problem) -> None:
    """A CSM's pinned and frozen units are theirs in every plan: the hundredths that rounding up added to
    their hours are added to the CSM's capacity in the model, which so holds exactly what the book does with
    them (the room they leave, in the book's hours, rounded down). Three pinned 33.333 h accounts fill a
    100 h CSM; rounded up to 33.34 h each, they would not."""
    exact: dict[int, float] = defaultdict(float)
    scaled: dict[int, int] = defaultdict(int)
    for u in problem.units:
        if u.fixed is None or not u.rounded_up:
            continue
        scaled[u.fixed] += u.hours_for(u.fixed)
        exact[u.fixed] += problem.book_hours_of(u, u.fixed)
    for c, given in scaled.items():
        info = problem.csms[c]
        # The other fixed units' hours are whole hundredths: the room counts them exactly.
        room = scale_capacity(info.capacity_hours - exact[c])
        if room >= 0:  # else the pins alone overload the CSM: diagnosed as such below
            info.capacity = given + room


def _make_unit(
    index: int,
    members: list[int],
    book: Book,
    csms: list[CsmInfo],
    csm_index: dict[str, int],
    account_eligible: list[list[int]],
    pairs: dict[int, dict[int, Pair]],
    today: dt.date,
    diagnosis: list[Diagnosis],
) -> Unit:
    """One unit (a lone account, or a parent's accounts together): who may serve it, its hours, cost and
    soft mismatches per CSM, why no one can, and whether a pin or freeze holds it with today's CSM."""
    pol = book.policy
    accounts = [book.accounts[i] for i in members]
    eligible, elig_set = _unit_eligibility(members, account_eligible)
    exact_hours = [rules.account_hours(a, pol) for a in accounts]
    unit = Unit(
        index=index,
        accounts=members,
        arr=sum(a.arr for a in accounts),
        # A parent's hours are rounded up once, on the sum: three 33.333 h accounts fill a 100 h CSM.
        hours=scale_hours(sum(exact_hours)),
        eligible=eligible,
        current=[a.current_csm for a in accounts],
        rounded_up=sum(not on_grid(h) for h in exact_hours)
        + sum(
            1
            for i in members
            for p in pairs.get(i, {}).values()
            if p.hours is not None and not on_grid(p.hours)
        ),
    )
    soft_rules = pol.region_match == "soft" or pol.language_match == "soft"
    if soft_rules or any(i in pairs for i in members):
        _price_per_csm(unit, accounts, exact_hours, csms, pairs, pol)
    if not eligible:
        unit.no_csm_reason = (
            _no_csm_reason(accounts[0], book.csms, today, book)
            if len(members) == 1
            else (
                f"parent {accounts[0].parent_id}: no single CSM can serve all {len(members)} of its accounts"
                + _parent_detail(members, account_eligible, book)
            )
        )
    _hold_pins_and_freezes(unit, accounts, elig_set, csms, csm_index, pairs, pol, today, diagnosis)
    return unit


def _unit_eligibility(
    members: list[int], account_eligible: list[list[int]]
) -> tuple[list[int], AbstractSet[int]]:
    """The CSMs who may serve every account of the unit (sorted), and the same as a set."""
    if len(members) == 1:
        # Accounts of one (tier, region, language) profile share one eligibility list: keep it shared,
        # so the engine can key its per-profile work on the list itself instead of copying it per account.
        eligible = account_eligible[members[0]]
        return eligible, shared_set(eligible)
    elig_set = set(account_eligible[members[0]])
    for i in members[1:]:
        elig_set &= set(account_eligible[i])
    return sorted(elig_set), elig_set


def _price_per_csm(
    unit: Unit,
    accounts: list[Account],
    exact_hours: list[float],
    csms: list[CsmInfo],
    pairs: dict[int, dict[int, Pair]],
    pol: Policy,
) -> None:
    """Where a pair overrides hours or sets a cost, or region / language are soft rules: the unit's hours,
    cost and soft mismatches with each eligible CSM."""
    for c in unit.eligible:
        exact = 0.0
        cost = 0.0
        overridden = False
        for i, h in zip(unit.accounts, exact_hours, strict=True):
            p = pairs.get(i, {}).get(c)
            if p is not None and p.hours is not None:
                exact += p.hours
                overridden = True
            else:
                exact += h
            if p is not None and p.cost is not None:
                cost += p.cost
        hours = scale_hours(exact)  # rounded up once, on the sum
        if overridden and hours != unit.hours:
            unit.hours_by_csm[c] = hours
        if cost:
            unit.cost_by_csm[c] = cost
        soft = sum(rules.soft_mismatches(a, csms[c].csm, pol) for a in accounts)
        if soft:
            unit.soft_by_csm[c] = soft


def _hold_pins_and_freezes(
    unit: Unit,
    accounts: list[Account],
    elig_set: AbstractSet[int],
    csms: list[CsmInfo],
    csm_index: dict[str, int],
    pairs: dict[int, dict[int, Pair]],
    pol: Policy,
    today: dt.date,
    diagnosis: list[Diagnosis],
) -> None:
    """Pins and freezes: the unit stays with the current CSM when that CSM may still serve it; a pin that
    cannot hold, or a parent pulled two ways, is a diagnosis; a freeze that cannot hold is released."""
    members = unit.accounts
    wanted: dict[int, tuple[Account, str]] = {}
    for i, a in zip(members, accounts, strict=True):
        why = rules.freeze_reason(a, pol)
        if why is None or a.current_csm is None:
            continue
        c = csm_index[a.current_csm]
        if c in elig_set:
            wanted.setdefault(c, (a, why))
            continue
        problem = rules.eligibility_problem(a, csms[c].csm, pairs.get(i, {}).get(c), pol, today=today)
        if problem is None and len(members) > 1:
            problem = f"{a.current_csm} cannot serve every account of parent {a.parent_id}"
        if a.pinned:
            diagnosis.append(
                Diagnosis(
                    rule="pin",
                    csm=a.current_csm,
                    accounts=[a.id],
                    message=f"{a.id} is pinned to {a.current_csm}, but {problem}",
                    relaxation=(
                        f"unpin {a.id} so it can move to another CSM"
                        if csms[c].left
                        else f"unpin {a.id}, or lift what stops {a.current_csm} from serving it"
                    ),
                )
            )
        else:
            unit.released_freeze = why  # the reason for the move names what broke the freeze
    if len(wanted) > 1:
        names = ", ".join(f"{a.id} → {csms[c].id} ({why})" for c, (a, why) in wanted.items())
        diagnosis.append(
            Diagnosis(
                rule="parent",
                accounts=[a.id for a in accounts],
                message=f"parent {accounts[0].parent_id} must go to one CSM, but its accounts are held by "
                f"different CSMs: {names}",
                relaxation="unpin all but one of them, or remove the parent_id of one account",
            )
        )
    elif wanted:
        ((c, (a, why)),) = wanted.items()
        unit.fixed = c
        unit.fixed_reason = f"{a.id}: {why}"


def _parent_detail(members: list[int], account_eligible: list[list[int]], book: Book) -> str:
    distinct = {tuple(account_eligible[i]) for i in members}
    if any(not e for e in distinct):
        return " (some of its accounts have no eligible CSM at all)"
    return " (its accounts need different tiers, regions or languages)"


_SHARED_SETS: dict[int, tuple[list[int], frozenset[int]]] = {}


def shared_set(eligible: list[int]) -> frozenset[int]:
    """The set of a (usually shared) eligibility list, computed once per list object."""
    hit = _SHARED_SETS.get(id(eligible))
    if hit is not None and hit[0] is eligible:
        return hit[1]
    if len(_SHARED_SETS) > 100_000:
        _SHARED_SETS.clear()
    made = frozenset(eligible)
    _SHARED_SETS[id(eligible)] = (eligible, made)
    return made


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _pools(units: list[Unit], csms: list[CsmInfo], book: Book) -> list[Pool]:
    """Connected components of the unit–CSM eligibility graph (CSMs first, then units)."""
    n_c = len(csms)
    uf = _UnionFind(n_c + len(units))
    seen_sets: dict[int, int] = {}
    for u in units:
        key = id(u.eligible)
        if key in seen_sets:
            uf.union(n_c + u.index, n_c + seen_sets[key])
            continue
        seen_sets[key] = u.index
        for c in u.eligible:
            uf.union(c, n_c + u.index)
        if u.fixed is not None:
            uf.union(u.fixed, n_c + u.index)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for info in csms:
        if info.left:
            continue
        members.setdefault(uf.find(info.index), ([], []))[0].append(info.index)
    for u in units:
        if u.eligible or u.fixed is not None:
            members.setdefault(uf.find(n_c + u.index), ([], []))[1].append(u.index)
    pools: list[Pool] = []
    used: dict[str, int] = {}
    for root in sorted(members):
        pool_csms, pool_units = members[root]
        name = _pool_name(pool_csms, pool_units, csms, units, book)
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name} #{used[name]}"
        rounded = any(units[i].rounded_up for i in pool_units)
        pool = Pool(index=len(pools), name=name, csms=pool_csms, units=pool_units, hours_rounded=rounded)
        for c in pool_csms:
            csms[c].pool = pool.index
        for u_index in pool_units:
            units[u_index].pool = pool.index
        pools.append(pool)
    return pools


def _pool_name(
    pool_csms: list[int], pool_units: list[int], csms: list[CsmInfo], units: list[Unit], book: Book
) -> str:
    tiers: dict[str, int] = defaultdict(int)
    regions: dict[str, int] = defaultdict(int)
    for u_index in pool_units:
        a = book.accounts[units[u_index].accounts[0]]
        tiers[a.tier] += 1
        regions[a.region or "any region"] += 1
    if not tiers:
        for c in pool_csms:
            for t in csms[c].csm.tiers:
                tiers[t] += 1
            for r in csms[c].csm.regions or ["any region"]:
                regions[r] += 1
    tier_part = "+".join(sorted(tiers, key=lambda t: -tiers[t])[:2]) or "no accounts"
    region_part = "+".join(sorted(regions, key=lambda r: -regions[r])[:2]) or "any region"
    return f"{tier_part} / {region_part}"
