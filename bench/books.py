"""Seeded generator of realistic books of business for benchmarks, fixtures and tests.

Every book is a pure function of its arguments: randomness comes from one `random.Random(seed)`, never the
global generator. Tier mix, ACV bands, service models and caps follow DOMAIN.md (through `solver.policy`);
the number of CSMs per tier x region pool is sized so the pool runs at about `target_utilization` of its
capacity while respecting the tier's book-size and ARR caps, as a CS org sized by its own rules would.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import heapq
import math
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from solver import policy as rules
from solver.schema import CSM, Account, Book, Pair, Policy, Tier

AS_OF = dt.date(2026, 11, 22)

TIER_MIX: tuple[tuple[Tier, float], ...] = (
    ("strategic", 0.02),
    ("enterprise", 0.13),
    ("mid_market", 0.35),
    ("smb", 0.50),
)
REGION_WEIGHTS: dict[str, float] = {"NA": 0.50, "EMEA": 0.30, "APAC": 0.20}
REGION_LANGUAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "NA": (("en", 1.0),),
    "EMEA": (("en", 0.5), ("de", 0.3), ("fr", 0.2)),
    "APAC": (("en", 0.6), ("ja", 0.4)),
}
LEGAL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "NA": ("Inc.", "LLC", "Corp.", "Co."),
    "en": ("Ltd", "PLC", "Pty Ltd", "Pte Ltd"),
    "de": ("GmbH", "AG"),
    "fr": ("SA", "SAS"),
    "ja": ("K.K.", "Co., Ltd."),
}

NAME_STEMS = (
    "Northwind", "Bluefin", "Contoso", "Fabrikam", "Tailspin", "Woodgrove", "Litware", "Proseware",
    "Adatum", "Lucerne", "Wingtip", "Fourth Coffee", "Alpine", "Coho", "Margie's", "Trey", "Humongous",
    "Graphic", "Wide World", "Blue Yonder", "Southridge", "Relecloud", "Datum", "Vanarsdel", "Cascade",
    "Granite", "Redwood", "Silverline", "Ironbridge", "Brightwater", "Keystone", "Summit", "Harbor",
    "Pinecrest", "Lakeshore", "Meridian", "Evergreen", "Foxglove", "Starling", "Copperleaf", "Oakmont",
    "Riverbend", "Sterling", "Beacon", "Highland", "Juniper", "Kestrel", "Larkspur", "Mosaic", "Nimbus",
    "Orchid", "Pioneer", "Quarry", "Ridgeway", "Sapphire", "Thistle", "Umbra", "Vantage", "Willow",
    "Yellowstone", "Zephyr", "Aurora", "Basalt", "Cobalt", "Driftwood", "Ember", "Falcon", "Glacier",
    "Horizon", "Indigo", "Jasper", "Kingfisher", "Lumen", "Maple", "Nova", "Obsidian", "Paragon",
    "Quill", "Rosewood", "Sequoia", "Tundra", "Upland", "Verdant", "Westwind", "Yarrow", "Zenith",
    "Acorn", "Bramble", "Cedar", "Dune", "Elmstead", "Fernhill", "Goldcrest", "Heron", "Ivory",
)  # fmt: skip
NAME_TRADES = (
    "Analytics", "Logistics", "Health", "Systems", "Foods", "Energy", "Robotics", "Labs", "Media",
    "Capital", "Freight", "Software", "Networks", "Pharma", "Retail", "Insurance", "Outfitters",
    "Manufacturing", "Biotech", "Security", "Mobility", "Travel", "Foods Group", "Hotels", "Telecom",
    "Materials", "Aerospace", "Dynamics", "Partners", "Solutions", "Cloud", "Payments", "Learning",
    "Instruments", "Brewing", "Apparel", "Studios", "Marine", "Agritech", "Clinics", "Motors",
    "Textiles", "Devices", "Data", "Markets", "Ventures", "Semiconductors", "Chemicals", "Holdings",
)  # fmt: skip
DIVISIONS = ("Retail", "Services", "Europe", "Digital", "Labs", "Finance", "Consumer", "Industrial")
FIRST_NAMES = (
    "dana", "lee", "priya", "marco", "aiko", "noah", "sofia", "liam", "emma", "omar", "chen", "lucia",
    "mateo", "hana", "jonas", "fatima", "ravi", "elena", "tomas", "yuki", "amara", "felix", "ines",
    "kofi", "maya", "nils", "olga", "pablo", "rosa", "samir", "tara", "ugo", "vera", "wen", "ximena",
    "yara", "zane", "aisha", "bruno", "clara", "diego", "eva", "farah", "gus", "hugo", "ida", "jin",
    "kai", "lina", "milo", "nora", "oscar", "petra", "quinn", "rafael", "sara", "theo", "uma", "victor",
    "willa", "xavier", "yusuf", "zoe", "anika", "ben", "carmen", "dev", "elif", "finn", "greta",
    "hiro", "isla", "jamal", "kira", "leo", "mina", "nadia", "otto", "paula", "rhea", "sven", "tess",
    "arjun", "bea", "cyrus", "daria", "emil", "freya", "gil", "hedda", "ivan", "june", "karim", "lotte",
)  # fmt: skip
LAST_NAMES = (
    "kim", "patel", "garcia", "muller", "rossi", "tanaka", "nguyen", "smith", "dubois", "okafor",
    "silva", "cohen", "larsen", "novak", "ito", "schmidt", "martin", "lopez", "haddad", "singh",
    "berg", "costa", "fischer", "mori", "walsh", "reyes", "khan", "sato", "weber", "moreau", "park",
    "ali", "brown", "chavez", "diaz", "evans", "ford", "gray", "hughes", "ibrahim", "jensen", "kowalski",
    "lind", "meyer", "nakamura", "olsen", "perez", "quinn", "ramos", "suzuki", "torres", "vogel",
)  # fmt: skip

# Share of accounts with an explicit `hours_per_year` (complexity differs from the tier's service model).
EXPLICIT_HOURS_SHARE = 0.30
# Chance that a generated account starts a parent company of 2-4 accounts: about 5 % of accounts.
PARENT_START_CHANCE = 0.0172
RAMPING_CSM_SHARE = 0.04
NEW_ACCOUNT_SHARE = 0.05
PINNED_SHARE = 0.02
# In a historical book, accounts signed within this many days are still waiting for a CSM.
NEW_ACCOUNT_DAYS = 30
# Frozen (pinned, renewing, onboarding) accounts may fill at most this share of a CSM's capacity, so a
# rebalance book is always feasible and leaves room for the moves.
FROZEN_LOAD_LIMIT = 0.90
# Book-size and ARR caps are staffed to this share: a full book at the cap leaves no room to balance.
COUNT_TARGET = 0.95


@functools.cache
def _cumulative(options: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in options:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    """One value drawn with the given weights (one `rng.random()` per draw)."""
    values, cum = _cumulative(options)
    i = bisect.bisect_right(cum, rng.random() * cum[-1])
    return values[min(i, len(values) - 1)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _anniversary_after(start: dt.date, today: dt.date) -> dt.date:
    """Annual contracts renew on the start date's anniversary: the first one after `today`."""
    years = max(1, today.year - start.year)
    while True:
        try:
            renewal = start.replace(year=start.year + years)
        except ValueError:  # 29 February
            renewal = start.replace(year=start.year + years, day=28)
        if renewal > today:
            return renewal
        years += 1


def _acv(rng: random.Random, tier: Tier) -> float:
    """ACV inside the tier's band, log-normal: most accounts near the floor, a heavy tail to the ceiling."""
    lo, hi = rules.ACV_BANDS[tier]
    x = abs(rng.gauss(0.0, 0.38))
    while x > 1.0:
        x = abs(rng.gauss(0.0, 0.38))
    value = lo * (hi / lo) ** x
    step = 100 if value < 10_000 else 500 if value < 100_000 else 1_000
    return float(round(value / step) * step)


class _Names:
    """Unique, readable ids: the first Northwind Analytics is `northwind-analytics`, the next `-2`."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def unique(self, base: str) -> str:
        n = self.seen.get(base, 0) + 1
        self.seen[base] = n
        return base if n == 1 else f"{base}-{n}"


@dataclass
class _Pool:
    tier: Tier
    region: str
    accounts: list[Account] = field(default_factory=list)
    hours: float = 0.0
    arr: float = 0.0
    csms: list[CSM] = field(default_factory=list)


def _make_accounts(
    rng: random.Random,
    n_accounts: int,
    regions: Sequence[str],
    today: dt.date,
    parents: bool,
    fresh: bool,
    tier_mix: Sequence[tuple[Tier, float]] = TIER_MIX,
) -> list[Account]:
    region_weights = tuple((r, REGION_WEIGHTS.get(r, 1.0 / len(regions))) for r in regions)
    mix = tuple(tier_mix)
    account_ids = _Names()
    parent_ids = _Names()
    accounts: list[Account] = []
    while len(accounts) < n_accounts:
        tier: Tier = _weighted(rng, mix)  # type: ignore[assignment]
        region = _weighted(rng, region_weights)
        language = _weighted(rng, REGION_LANGUAGES.get(region, (("en", 1.0),)))
        stem, trade = rng.choice(NAME_STEMS), rng.choice(NAME_TRADES)
        group = rng.randint(2, 4) if parents and rng.random() < PARENT_START_CHANCE else 1
        group = min(group, n_accounts - len(accounts))
        parent_id = parent_ids.unique(_slug(f"{stem} group")) if group > 1 else None
        divisions = rng.sample(DIVISIONS, group) if group > 1 else [trade]
        for division in divisions:
            company = f"{stem} {division}"
            suffixes = LEGAL_SUFFIXES["NA"] if region == "NA" else LEGAL_SUFFIXES.get(language, ("Ltd",))
            # Most accounts started over the past four years; in a historical book the last month's
            # signings are the new accounts, still waiting for a CSM.
            if fresh:
                started_days_ago = rng.randint(0, 4 * 365)
            elif rng.random() < NEW_ACCOUNT_SHARE:
                started_days_ago = rng.randint(0, NEW_ACCOUNT_DAYS - 1)
            else:
                started_days_ago = rng.randint(NEW_ACCOUNT_DAYS, 4 * 365)
            start = today - dt.timedelta(days=started_days_ago)
            hours: float | None = None
            if rng.random() < EXPLICIT_HOURS_SHARE:
                first_year = (today - start).days < rules.PLAN_YEAR_DAYS
                base = rules.service_model_hours(rules.SERVICE_MODELS[tier], first_year)
                hours = round(base * rng.triangular(0.7, 1.5, 0.85) * 2) / 2
            accounts.append(
                Account(
                    id=account_ids.unique(_slug(company)),
                    name=f"{company} {rng.choice(suffixes)}",
                    arr=_acv(rng, tier),
                    tier=tier,
                    hours_per_year=hours,
                    region=region,
                    language=language,
                    renewal_date=_anniversary_after(start, today),
                    start_date=start,
                    parent_id=parent_id,
                )
            )
    return accounts


def _pool_size(pool: _Pool, policy: Policy, target: float) -> int:
    """CSMs a CS org would staff the pool with: hours at the target utilization, book-size and ARR caps."""
    tier = rules.resolve_tier(policy, pool.tier)
    need = pool.hours / (policy.capacity_hours * target)
    if tier.max_accounts:
        need = max(need, len(pool.accounts) / (tier.max_accounts * COUNT_TARGET))
    if tier.arr_cap:
        need = max(need, pool.arr / (tier.arr_cap * COUNT_TARGET))
    return max(1, math.ceil(need - 1e-9))


def _scale_counts(needs: list[int], total: int) -> list[int]:
    """Distribute `total` CSMs across pools in proportion to their need, at least one each."""
    if total < len(needs):
        raise ValueError(f"n_csms: {total} is fewer than the {len(needs)} tier x region pools of the book")
    raw = [total * n / sum(needs) for n in needs]
    counts = [max(1, math.floor(r)) for r in raw]
    order = sorted(range(len(needs)), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True)
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: counts[k] - raw[k])
        counts[j] -= 1
    return counts


class _CsmFactory:
    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng = rng
        self.today = today
        self.ids = _Names()

    def make(self, pool: _Pool, *, ramping: bool = False, start_days_ago: int | None = None) -> CSM:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"c-{first}"
        csm_id = base if base not in self.ids.seen else self.ids.unique(f"c-{first}-{last}")
        self.ids.seen.setdefault(base, 1)
        if start_days_ago is None:
            start_days_ago = rng.randint(5, 85) if ramping else rng.randint(120, 6 * 365)
        languages = [lang for lang, _ in REGION_LANGUAGES.get(pool.region, (("en", 1.0),))]
        return CSM(
            id=csm_id,
            name=f"{first.title()} {last.title()}",
            level=rules.LEVEL_BY_TIER[pool.tier],
            tiers=[pool.tier],
            regions=[pool.region],
            languages=languages,
            start_date=self.today - dt.timedelta(days=start_days_ago),
        )


def _staff_pools(
    rng: random.Random,
    pools: list[_Pool],
    policy: Policy,
    target: float,
    n_csms: int | None,
    fresh: bool,
) -> None:
    factory = _CsmFactory(rng, rules.as_of(policy))
    needs = [_pool_size(p, policy, target) for p in pools]
    counts = needs if n_csms is None else _scale_counts(needs, n_csms)
    for pool, count in zip(pools, counts, strict=True):
        for _ in range(count):
            pool.csms.append(factory.make(pool, ramping=rng.random() < RAMPING_CSM_SHARE))
        if n_csms is None:
            # Ramping CSMs bring less than a year of hours: staff up until the pool meets its target.
            capacity = sum(rules.capacity_hours(c, policy) for c in pool.csms)
            while capacity * target < pool.hours:
                pool.csms.append(factory.make(pool))
                capacity += rules.capacity_hours(pool.csms[-1], policy)
        if not fresh and len(pool.csms) >= 3:
            # A CSM left last week; their replacement joined a month ago and is still ramping.
            replacement = rng.randrange(len(pool.csms))
            pool.csms[replacement] = factory.make(pool, start_days_ago=rng.randint(25, 35))
            leaver = factory.make(pool, start_days_ago=rng.randint(400, 5 * 365))
            leaver.end_date = rules.as_of(policy) - dt.timedelta(days=7)
            pool.csms.append(leaver)


@dataclass(eq=False)
class _Seat:
    """A CSM's place in the historical assignment: the load they drifted to and what is frozen on them."""

    csm: CSM
    target: float
    capacity: float
    max_accounts: int | None
    arr_cap: float | None
    left: bool
    load: float = 0.0
    frozen_hours: float = 0.0
    frozen_accounts: int = 0
    frozen_arr: float = 0.0

    def can_freeze(self, hours: float, accounts: int, arr: float) -> bool:
        if self.left:  # a leaver's accounts must move whatever their freeze says
            return True
        return (
            self.frozen_hours + hours <= FROZEN_LOAD_LIMIT * self.capacity
            and (self.max_accounts is None or self.frozen_accounts + accounts <= self.max_accounts)
            and (self.arr_cap is None or self.frozen_arr + arr <= self.arr_cap)
        )

    def take(self, hours: float, accounts: int, arr: float, frozen: bool) -> None:
        self.load += hours
        if frozen and not self.left:
            self.frozen_hours += hours
            self.frozen_accounts += accounts
            self.frozen_arr += arr


def _assign_history(rng: random.Random, pool: _Pool, policy: Policy, hours: dict[str, float]) -> None:
    """Give the pool the skewed book years of ad-hoc assignment leave behind, frozen accounts kept feasible.

    About a fifth of the CSMs drifted to 115-130 % utilization and a fifth to 60-70 %; the leaver still
    carries a full book; the replacement and the new accounts have nothing yet.
    """
    today = rules.as_of(policy)
    seats: list[_Seat] = []
    for csm in pool.csms:
        left = rules.csm_has_left(csm, today)
        if not left and csm.start_date is not None and (today - csm.start_date).days < 60:
            continue  # the replacement: hired a month ago, no book yet
        seats.append(
            _Seat(
                csm=csm,
                target=0.0,
                capacity=rules.capacity_hours(csm, policy),
                max_accounts=rules.csm_max_accounts(csm, policy),
                arr_cap=rules.csm_arr_cap(csm, policy),
                left=left,
            )
        )
    if not seats:
        return
    units: dict[str, list[Account]] = defaultdict(list)
    for account in pool.accounts:
        if account.start_date is not None and (today - account.start_date).days < NEW_ACCOUNT_DAYS:
            continue
        units[account.parent_id or f"\0{account.id}"].append(account)
    demand = sum(hours[a.id] for group in units.values() for a in group)

    # The leaver carried a full book; CSMs still ramping a partial one.
    for seat in seats:
        if seat.left:
            seat.target = rng.uniform(0.85, 1.0) * rules.full_capacity_hours(seat.csm, policy)
        elif rules.is_ramping(seat.csm, policy):
            seat.target = 0.5 * seat.capacity
    full = [seat for seat in seats if seat.target == 0.0]
    rng.shuffle(full)
    over_util = [rng.uniform(1.15, 1.30) for _ in full]
    light_util = [rng.uniform(0.60, 0.70) for _ in full]
    base = sum(seat.target for seat in seats)
    k = max(1, round(0.2 * len(full)))
    # A fifth overloaded and a fifth light, unless the pool's demand leaves the others implausibly loaded;
    # then fewer light ones, then fewer overloaded ones.
    splits = [(k, k), (k, 0), (max(1, k // 2), 0), (1, 0)] if len(full) >= 2 else []
    # In a pool of two, one CSM carrying most of the book is the usual way it drifts.
    rest_floor = 0.6 if len(full) >= 3 else 0.35
    for n_over, n_light in splits:
        fixed = base + sum(u * seat.capacity for u, seat in zip(over_util[:n_over], full, strict=False))
        fixed += sum(
            u * seat.capacity
            for u, seat in zip(light_util[n_over:], full[n_over : n_over + n_light], strict=False)
        )
        rest = full[n_over + n_light :]
        rest_capacity = sum(seat.capacity for seat in rest)
        if rest_capacity > 0 and rest_floor <= (demand - fixed) / rest_capacity <= 1.05:
            for i, seat in enumerate(full):
                if i < n_over:
                    seat.target = over_util[i] * seat.capacity
                elif i < n_over + n_light:
                    seat.target = light_util[i] * seat.capacity
                else:
                    seat.target = (demand - fixed) * seat.capacity / rest_capacity
            break
    else:  # a small pool: every seat takes the demand in proportion to its capacity
        for seat in full:
            seat.target = seat.capacity
        total = sum(seat.target for seat in seats) or 1.0
        for seat in seats:
            seat.target = demand * seat.target / total

    ordered = list(units.values())
    rng.shuffle(ordered)
    ordered.sort(key=lambda g: sum(hours[a.id] for a in g), reverse=True)
    heap = [(-s.target, i) for i, s in enumerate(seats)]
    heapq.heapify(heap)
    for group in ordered:
        g_hours = sum(hours[a.id] for a in group)
        g_arr = sum(a.arr for a in group)
        frozen = any(rules.freeze_reason(a.model_copy(update={"current_csm": "x"}), policy) for a in group)
        skipped = []
        chosen: int | None = None
        while heap:
            key, i = heapq.heappop(heap)
            if -key != seats[i].target - seats[i].load:
                continue  # stale entry
            if not frozen or seats[i].can_freeze(g_hours, len(group), g_arr):
                chosen = i
                break
            skipped.append((key, i))
        for item in skipped:
            heapq.heappush(heap, item)
        if chosen is None:
            raise ValueError(f"book: frozen accounts of pool {pool.tier}/{pool.region} exceed its capacity")
        seat = seats[chosen]
        seat.take(g_hours, len(group), g_arr, frozen)
        heapq.heappush(heap, (-(seat.target - seat.load), chosen))
        for account in group:
            account.current_csm = seat.csm.id

    # A few relationships a person pinned, never on a leaver and never past what the CSM can carry.
    by_id = {s.csm.id: s for s in seats}
    for group in ordered:
        if rng.random() >= PINNED_SHARE * len(group):
            continue
        seat = by_id[group[0].current_csm or ""]
        g_arr = sum(a.arr for a in group)
        if seat.left:
            continue
        if any(rules.freeze_reason(a, policy) for a in group):
            rng.choice(group).pinned = True  # already counted as frozen
        elif seat.can_freeze(sum(hours[a.id] for a in group), len(group), g_arr):
            seat.frozen_hours += sum(hours[a.id] for a in group)
            seat.frozen_accounts += len(group)
            seat.frozen_arr += g_arr
            rng.choice(group).pinned = True


def generate_book(
    n_accounts: int,
    *,
    seed: int = 0,
    n_csms: int | None = None,
    regions: Sequence[str] = ("NA", "EMEA", "APAC"),
    as_of: dt.date = AS_OF,
    parents: bool = True,
    fresh: bool = True,
    target_utilization: float = 0.90,
    tier_mix: Sequence[tuple[Tier, float]] = TIER_MIX,
) -> Book:
    """A realistic book of `n_accounts` accounts and the CSMs a CS org would staff it with.

    `fresh=True`: nobody is assigned yet (a fresh assignment). `fresh=False`: the historical, skewed book
    a rebalance starts from (see `generate_rebalance_book`).
    """
    if n_accounts < 0:
        raise ValueError(f"n_accounts: must be >= 0 (got {n_accounts})")
    if not regions:
        raise ValueError("regions: at least one region is needed")
    if not 0 < target_utilization <= 1:
        raise ValueError(f"target_utilization: must be in (0, 1] (got {target_utilization})")
    rng = random.Random(seed)
    policy = Policy(as_of=as_of)
    accounts = _make_accounts(rng, n_accounts, regions, as_of, parents, fresh, tier_mix)
    hours = {a.id: rules.account_hours(a, policy) for a in accounts}
    pools: dict[tuple[str, str], _Pool] = {}
    for account in accounts:
        key = (account.tier, account.region or "")
        if key not in pools:
            pools[key] = _Pool(tier=account.tier, region=account.region or "")
        pool = pools[key]
        pool.accounts.append(account)
        pool.hours += hours[account.id]
        pool.arr += account.arr
    tier_order = {t: i for i, t in enumerate(rules.SERVICE_MODELS)}
    ordered = sorted(pools.values(), key=lambda p: (tier_order[p.tier], list(regions).index(p.region)))
    _staff_pools(rng, ordered, policy, target_utilization, n_csms, fresh)
    if not fresh:
        for pool in ordered:
            _assign_history(rng, pool, policy, hours)
    csms = [c for pool in ordered for c in pool.csms]
    return Book(accounts=accounts, csms=csms, policy=policy)


def generate_rebalance_book(n_accounts: int = 3000, *, seed: int = 0, **kwargs: object) -> Book:
    """A historical book to rebalance: skewed loads, a leaver and their ramping replacement, new accounts,
    pins and renewal/onboarding freezes, always feasible."""
    return generate_book(n_accounts, seed=seed, fresh=False, **kwargs)  # type: ignore[arg-type]


def generate_gap_book(n_csms: int, n_accounts: int, *, seed: int = 0, as_of: dt.date = AS_OF) -> Book:
    """A generalized-assignment book for `objective: "min_cost"`.

    One mid-market NA pool; every account-CSM pair has its own hours (the account's base x 0.7-1.4: some
    CSMs know the product or the customer better) and a cost that falls as the hours rise (a cheaper CSM is
    slower), the hard kind of GAP. The cheapest fit of every account uses 80-90 % of the total capacity.
    """
    if n_csms < 1 or n_accounts < 0:
        raise ValueError(f"n_csms, n_accounts: need at least one CSM (got {n_csms}, {n_accounts})")
    rng = random.Random(seed)
    accounts = [
        a.model_copy(
            update={
                "tier": "mid_market",
                "arr": _acv(rng, "mid_market"),
                "hours_per_year": round(30 * rng.uniform(0.7, 1.5) * 2) / 2,
            }
        )
        for a in _make_accounts(rng, n_accounts, ("NA",), as_of, parents=False, fresh=True)
    ]
    factory = _CsmFactory(rng, as_of)
    pool = _Pool(tier="mid_market", region="NA")
    csms = [factory.make(pool, start_days_ago=rng.randint(200, 5 * 365)) for _ in range(n_csms)]
    pairs: list[Pair] = []
    min_hours = 0.0
    for account in accounts:
        base = account.hours_per_year or 30.0
        cheapest = math.inf
        for csm in csms:
            factor = rng.uniform(0.7, 1.4)
            pair_hours = round(base * factor * 2) / 2
            cost = max(0, round(100 - 60 * (factor - 0.7) / 0.7 + rng.uniform(-10, 10)))
            pairs.append(Pair(account=account.id, csm=csm.id, hours=pair_hours, cost=cost))
            cheapest = min(cheapest, pair_hours)
        min_hours += cheapest
    total_capacity = min_hours / rng.uniform(0.80, 0.90)
    weights = [rng.uniform(0.8, 1.2) for _ in csms]
    for csm, weight in zip(csms, weights, strict=True):
        csm.capacity_hours = float(round(total_capacity * weight / sum(weights)))
    policy = Policy(as_of=as_of, objective="min_cost")
    return Book(accounts=accounts, csms=csms, policy=policy, pairs=pairs)
