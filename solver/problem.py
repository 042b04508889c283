"""The engine's working form of a book: CSMs, units and pools in integers, and how figures are written.

Hours are scaled to whole hundredths here (HOURS_SCALE): an account's rounded up and a CSM's capacity
rounded down, so every plan the model allows keeps the book's capacity. `solver/prepare.py` builds a
Problem from a Book.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property

from solver import policy as rules
from solver.metrics import Band
from solver.schema import CSM, Account, Book, Diagnosis, Pair

# Integers inside the model: hours in hundredths of an hour, money in whole currency units.
HOURS_SCALE = 100


def scale_hours(hours: float) -> int:
    return math.ceil(hours * HOURS_SCALE - 1e-6)


def scale_capacity(hours: float) -> int:
    return math.floor(hours * HOURS_SCALE + 1e-6)


def on_grid(hours: float) -> bool:
    """Are these hours a whole number of hundredths (what the model counts exactly)?"""
    return abs(hours * HOURS_SCALE - round(hours * HOURS_SCALE)) <= 1e-6


@dataclass
class CsmInfo:
    index: int
    csm: CSM
    # Scaled hours the model may fill over the coming year: the book's capacity rounded down to the
    # hundredth, plus what rounding up added to the hours of units pinned or frozen with the CSM
    # (`prepare.give_back_fixed_rounding`).
    capacity: int
    full_capacity: float  # hours at full speed (for reasons)
    arr_cap: float | None
    max_accounts: int | None
    left: bool
    pool: int = -1
    # The book's hours available over the coming year, unrounded: what the plan shows utilization over.
    capacity_hours: float = 0.0

    @property
    def id(self) -> str:
        return self.csm.id


@dataclass
class Unit:
    index: int
    accounts: list[int]  # indices into book.accounts
    arr: float
    hours: int  # scaled base hours (sum of the accounts' own hours)
    eligible: list[int]  # CSM indices that may serve every account of the unit
    hours_by_csm: dict[int, int] = field(default_factory=dict)  # pair overrides (scaled), when they differ
    cost_by_csm: dict[int, float] = field(default_factory=dict)
    soft_by_csm: dict[int, int] = field(default_factory=dict)  # soft region/language mismatches
    current: list[str | None] = field(default_factory=list)  # current CSM id per account
    fixed: int | None = None  # CSM index the unit must stay with (pin or freeze)
    fixed_reason: str | None = None
    released_freeze: str | None = None  # a freeze that could not hold (e.g. the CSM left)
    pool: int = -1
    no_csm_reason: str | None = None  # why no CSM is eligible
    figures: tuple[int, ...] = ()  # per band of problem.bands: what the unit adds (ARR, counts), whole
    # Hours figures of the unit finer than a hundredth, each rounded up in the model: the model counts the
    # unit at most this many hundredths heavier than it is (0 on books whose hours are in hundredths).
    rounded_up: int = 0

    def hours_for(self, c: int) -> int:
        return self.hours_by_csm.get(c, self.hours)

    def least_hours(self, csms: Container[int]) -> int | None:
        """The fewest hours the unit takes at an eligible CSM among `csms` (None: none of them is eligible)."""
        if not self.hours_by_csm:
            return self.hours if any(c in csms for c in self.eligible) else None
        found = [self.hours_for(c) for c in self.eligible if c in csms]
        return min(found) if found else None

    def moves_if(self, csm_id: str) -> int:
        """Accounts of the unit that would change CSM if it went to `csm_id`."""
        return sum(1 for cur in self.current if cur is not None and cur != csm_id)

    @property
    def size(self) -> int:
        return len(self.accounts)

    @property
    def whole_arr(self) -> int:
        """The unit's ARR in whole dollars rounded up (past float error): what the serve steps and models
        count against an ARR cap or band in whole numbers."""
        return math.ceil(self.arr - 1e-9)


@dataclass
class Pool:
    index: int
    name: str
    csms: list[int]
    units: list[int]
    hours_rounded: bool = False  # some unit's hours were rounded up (Unit.rounded_up): no proof is exact
    # bounds.pool_served_arr_bound's answer, once computed (it depends on the book alone).
    served_arr_bound: int | None = field(default=None, repr=False, compare=False)


@dataclass
class Problem:
    book: Book
    today: dt.date
    csms: list[CsmInfo]
    units: list[Unit]
    pools: list[Pool]
    unit_of_account: list[int]
    csm_index: dict[str, int]
    diagnosis: list[Diagnosis]
    has_current: bool
    bands: list[Band] = field(default_factory=list)  # the figures of policy.balance_metrics, in order

    def account(self, i: int) -> Account:
        return self.book.accounts[i]

    def book_hours_of(self, u: Unit, c: int) -> float:
        """The unit's hours with CSM `c` as the book gives them (a pair's hours where set), unrounded."""
        csm_id = self.csms[c].id
        return sum(
            rules.pair_hours(a, self._pairs.get((a.id, csm_id)), self.book.policy)
            for a in (self.account(i) for i in u.accounts)
        )

    @cached_property
    def _pairs(self) -> dict[tuple[str, str], Pair]:
        return rules.pairs_index(self.book)


def hours_text(scaled: float) -> str:
    """Scaled hours as CS ops read them: "1,560 h", "100.5 h", "100.01 h"."""
    return hours_figure(scaled / HOURS_SCALE)


def hours_figure(hours: float) -> str:
    """Hours as CS ops read them, to the thousandth where they are that fine: "1,560 h", "99.999 h"."""
    return f"{hours:,.3f}".rstrip("0").rstrip(".") + " h"


def money(x: float) -> str:
    if x >= 1_000_000:
        return f"${x / 1_000_000:,.1f}M"
    if x >= 1_000:
        return f"${x / 1_000:,.0f}k"
    return f"${x:,.0f}"
