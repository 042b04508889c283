"""The book as the router sees it: each CSM's load (hours, ARR, accounts, red accounts, renewals), pools and
parent companies, computed once per book revision so routing one new account costs a millisecond.

Nothing here moves an account: every existing assignment is a fixed load. Bands follow CONTRACT.md's
"Balance beyond hours": each is centred on the pool's total over its total capacity, per capacity hour.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from solver import policy as rules
from solver.schema import CSM, Account, Book, Policy

RENEWAL_WINDOWS = 4  # four 3-month windows after as_of (CONTRACT.md, `renewals`)
EPSILON = 1e-9


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later (the month's last day when it is shorter)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(d, day.day))
        except ValueError:
            continue
    return dt.date(year, month, 28)


def renewal_window(account: Account, today: dt.date) -> int | None:
    """Which 3-month window after as_of holds the account's renewal (0-3), or None when outside all four."""
    if account.renewal_date is None or account.renewal_date < today:
        return None
    for k in range(RENEWAL_WINDOWS):
        if account.renewal_date < add_months(today, 3 * (k + 1)):
            return k
    return None


@dataclass(frozen=True, slots=True)
class Figures:
    """What a CSM (or a unit of new accounts) carries: the figures every hard rule and band reads."""

    hours: float = 0.0
    arr: float = 0.0
    accounts: int = 0
    red: int = 0
    renewals: tuple[int, ...] = (0,) * RENEWAL_WINDOWS

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.hours + other.hours,
            self.arr + other.arr,
            self.accounts + other.accounts,
            self.red + other.red,
            tuple(a + b for a, b in zip(self.renewals, other.renewals, strict=True)),
        )

    def __sub__(self, other: Figures) -> Figures:
        return Figures(
            self.hours - other.hours,
            self.arr - other.arr,
            self.accounts - other.accounts,
            self.red - other.red,
            tuple(a - b for a, b in zip(self.renewals, other.renewals, strict=True)),
        )


ZERO = Figures()


def account_figures(account: Account, policy: Policy, today: dt.date, hours: float | None = None) -> Figures:
    """One account's contribution to its CSM's figures (hours with its health factor, or a pair's hours)."""
    window = renewal_window(account, today)
    renewals = tuple(1 if k == window else 0 for k in range(RENEWAL_WINDOWS))
    return Figures(
        hours=rules.account_hours(account, policy) if hours is None else hours,
        arr=account.arr,
        accounts=1,
        red=1 if rules.account_health(account, policy) == "red" else 0,
        renewals=renewals,
    )


@dataclass
class CsmSeat:
    """One CSM as a possible home for new accounts: their limits and the load they already carry."""

    index: int
    csm: CSM
    capacity: float  # ramped hours over the coming year (policy.capacity_hours)
    full_capacity: float
    arr_cap: float | None
    max_accounts: int | None
    left: bool
    ramping: bool
    load: Figures
    pool: int = -1

    @property
    def id(self) -> str:
        return self.csm.id


@dataclass
class RoutingBook:
    """The stored book prepared for routing (immutable once built; shared between requests)."""

    book: Book
    policy: Policy
    today: dt.date
    seats: list[CsmSeat]
    seat_index: dict[str, int]
    account_ids: frozenset[str]
    parent_csms: dict[str, frozenset[str]]  # parent_id -> the CSMs holding its accounts today
    pools: list[list[int]]
    pool_names: list[str]
    pool_totals: list[Figures]
    pool_capacity: list[float]
    _profiles: dict[tuple[str, str | None, str | None], Profile] = field(default_factory=dict)

    def profile(self, account: Account) -> Profile:
        """Which CSMs may serve an account of this profile under the pairwise rules, computed once."""
        key = (account.tier, account.region, account.language)
        hit = self._profiles.get(key)
        if hit is None:
            probe = account.model_copy(update={"current_csm": None, "id": "probe"})
            found = [pairwise_rule(probe, s.csm, self.policy, self.today) for s in self.seats]
            hit = Profile(found, [i for i, rule in enumerate(found) if rule is None], self._group(found))
            if len(self._profiles) > 10_000:
                self._profiles.clear()
            self._profiles[key] = hit
        return hit

    def _group(self, found: list[str | None]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for seat, rule in zip(self.seats, found, strict=True):
            if rule is not None:
                groups[rule].append(seat.id)
        return dict(groups)

    def merged_profile(self, profiles: list[Profile]) -> Profile:
        """The profile of a parent's new accounts together: a CSM must pass every account's rules."""
        if len({id(p) for p in profiles}) == 1:
            return profiles[0]
        found = [
            next((p.rules[i] for p in profiles if p.rules[i] is not None), None)
            for i in range(len(self.seats))
        ]
        return Profile(found, [i for i, rule in enumerate(found) if rule is None], self._group(found))


@dataclass(frozen=True)
class Profile:
    rules: list[str | None]  # per CSM: the first pairwise rule that stops them (None: they may serve it)
    eligible: list[int]
    excluded: dict[str, list[str]]  # rule -> the CSMs it stops


def pairwise_rule(account: Account, csm: CSM, policy: Policy, today: dt.date) -> str | None:
    """The rule key that stops this CSM serving this new account (`policy.eligibility_problem` decides)."""
    if rules.eligibility_problem(account, csm, None, policy, today=today) is None:
        return None
    if rules.csm_has_left(csm, today):
        return "left"
    if account.tier not in csm.tiers:
        return "segment"
    if policy.region_match == "hard" and not _covers(account.region, csm.regions):
        return "region"
    if policy.language_match == "hard" and not _covers(account.language, csm.languages):
        return "language"
    return "accepting_new"


def _covers(value: str | None, allowed: list[str] | None) -> bool:
    return value is None or allowed is None or value in allowed


def prepare_routing_book(book: Book) -> RoutingBook:
    """Every CSM's load from the accounts they hold today (pair hours where a pair overrides), and pools."""
    pol = book.policy
    today = rules.as_of(pol)
    pairs = rules.pairs_index(book)
    seats = [
        CsmSeat(
            index=i,
            csm=c,
            capacity=rules.capacity_hours(c, pol),
            full_capacity=rules.full_capacity_hours(c, pol),
            arr_cap=rules.csm_arr_cap(c, pol),
            max_accounts=rules.csm_max_accounts(c, pol),
            left=rules.csm_has_left(c, today),
            ramping=rules.is_ramping(c, pol),
            load=ZERO,
        )
        for i, c in enumerate(book.csms)
    ]
    seat_index = {s.id: s.index for s in seats}
    loads: dict[int, list[Figures]] = defaultdict(list)
    parents: dict[str, set[str]] = defaultdict(set)
    for a in book.accounts:
        if a.parent_id is not None:
            parents[a.parent_id]
        if a.current_csm is None:
            continue
        pair = pairs.get((a.id, a.current_csm))
        hours = rules.pair_hours(a, pair, pol)
        loads[seat_index[a.current_csm]].append(account_figures(a, pol, today, hours))
        if a.parent_id is not None:
            parents[a.parent_id].add(a.current_csm)
    for i, figures in loads.items():
        total = ZERO
        for f in figures:
            total = total + f
        seats[i].load = total
    routing = RoutingBook(
        book=book,
        policy=pol,
        today=today,
        seats=seats,
        seat_index=seat_index,
        account_ids=frozenset(a.id for a in book.accounts),
        parent_csms={p: frozenset(c) for p, c in parents.items()},
        pools=[],
        pool_names=[],
        pool_totals=[],
        pool_capacity=[],
    )
    _form_pools(routing, book.accounts)
    return routing


def _form_pools(routing: RoutingBook, accounts: list[Account]) -> None:
    """Pools: CSMs linked by an account profile (segment, region, language) both may serve, as the engine's."""
    parent = list(range(len(routing.seats)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    seen: set[tuple[str, str | None, str | None]] = set()
    profile_count: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in accounts:
        key = (a.tier, a.region, a.language)
        if key in seen:
            continue
        seen.add(key)
        eligible = routing.profile(a).eligible
        for i in eligible[1:]:
            ra, rb = find(eligible[0]), find(i)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    for a in accounts:
        if a.current_csm is not None:
            label = f"{a.tier} / {a.region or 'any region'}"
            profile_count[routing.seat_index[a.current_csm]][label] += 1
    groups: dict[int, list[int]] = defaultdict(list)
    for seat in routing.seats:
        if not seat.left:
            groups[find(seat.index)].append(seat.index)
    for members in (groups[r] for r in sorted(groups)):
        p = len(routing.pools)
        labels: dict[str, int] = defaultdict(int)
        total, capacity = ZERO, 0.0
        for i in members:
            routing.seats[i].pool = p
            total = total + routing.seats[i].load
            capacity += routing.seats[i].capacity
            for label, n in profile_count[i].items():
                labels[label] += n
        if not labels:
            first = routing.seats[members[0]].csm
            labels[f"{first.tiers[0]} / {(first.regions or ['any region'])[0]}"] = 1
        routing.pools.append(members)
        routing.pool_names.append(max(labels, key=lambda k: (labels[k], k)))
        routing.pool_totals.append(total)
        routing.pool_capacity.append(capacity)


# ---------------------------------------------------------------- bands


@dataclass(frozen=True)
class PoolBands:
    """A pool's band centres (per capacity hour), from its total after the batch over its capacity."""

    hours: float
    metrics: dict[str, tuple[float, ...]]  # metric -> centre(s): renewals has one per window


def metric_values(figures: Figures, metric: str) -> tuple[float, ...]:
    """A balance metric's figure(s) for a CSM: one value, or one per renewal window."""
    if metric == "arr":
        return (figures.arr,)
    if metric == "accounts":
        return (float(figures.accounts),)
    if metric == "red_accounts":
        return (float(figures.red),)
    return tuple(float(n) for n in figures.renewals)


def pool_bands(routing: RoutingBook, pool: int, added: Figures) -> PoolBands:
    """Band centres of a pool once `added` (the batch's share of it) is in: total ÷ total capacity."""
    capacity = routing.pool_capacity[pool]
    total = routing.pool_totals[pool] + added
    per = 1.0 / capacity if capacity > 0 else 0.0
    return PoolBands(
        hours=total.hours * per,
        metrics={m: tuple(v * per for v in metric_values(total, m)) for m in routing.policy.balance_metrics},
    )


def outside_hours_band(routing: RoutingBook, seat: CsmSeat, hours: float, bands: PoolBands) -> bool:
    """Outside the hours band: utilization more than `balance_tolerance` points from the pool's mean."""
    if seat.capacity <= 0:
        return False
    return abs(hours / seat.capacity - bands.hours) > routing.policy.balance_tolerance + EPSILON


def outside_metric_bands(
    routing: RoutingBook, seat: CsmSeat, figures: Figures, bands: PoolBands
) -> list[str]:
    """The `balance_metrics` bands a CSM is outside of: more than tolerance × the pool's mean per capacity
    hour from it (never tighter than ±1 for counts: accounts, red accounts, renewals per window)."""
    if seat.capacity <= 0:
        return []
    out: list[str] = []
    for metric, tolerance in routing.policy.balance_metrics.items():
        for k, (value, centre) in enumerate(
            zip(metric_values(figures, metric), bands.metrics[metric], strict=True)
        ):
            target = centre * seat.capacity
            allowed = tolerance * target
            if metric != "arr":
                allowed = max(allowed, 1.0)
            if abs(value - target) > allowed + EPSILON * max(1.0, target):
                out.append(metric if metric != "renewals" else f"renewals (window {k + 1})")
    return out


def outside_bands(routing: RoutingBook, seat: CsmSeat, figures: Figures, bands: PoolBands) -> list[str]:
    """Every band (hours, then each balance metric) a CSM carrying `figures` is outside of."""
    hours = ["hours"] if outside_hours_band(routing, seat, figures.hours, bands) else []
    return hours + outside_metric_bands(routing, seat, figures, bands)
