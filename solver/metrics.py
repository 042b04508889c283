"""The figures a book is balanced on besides hours (CONTRACT.md "Balance beyond hours"), and their bands.

Each metric of `policy.balance_metrics` is a per-account figure summed per CSM and judged per capacity
hour: `arr`, `accounts`, `red_accounts`, and `renewals`, which is four figures (one per 3-month window
after `as_of`), each held to its own band. A band is centred on the pool's total over its total capacity;
its half-width is the tolerance times the centre, never under one for counts; a value on the edge is in.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from fractions import Fraction

from solver import policy as rules
from solver.schema import Account, Book

RENEWAL_WINDOWS = 4
COUNT_METRICS = frozenset({"accounts", "red_accounts", "renewals"})


@dataclass(frozen=True)
class Band:
    """One figure held within a band: `name` as shown (e.g. `renewals_q2`), its metric and tolerance."""

    name: str
    metric: str  # arr | accounts | red_accounts | renewals
    tolerance: float
    window: int = 0  # renewals only: 0..3, the 3-month window after as_of

    @property
    def counts(self) -> bool:
        """A count is never held tighter than ±1."""
        return self.metric in COUNT_METRICS


def balance_bands(book: Book) -> list[Band]:
    """The bands of `policy.balance_metrics`, in the order given (renewals as four windows)."""
    out: list[Band] = []
    for metric, tol in book.policy.balance_metrics.items():
        if metric == "renewals":
            out.extend(Band(f"renewals_q{k + 1}", metric, tol, k) for k in range(RENEWAL_WINDOWS))
        else:
            out.append(Band(metric, metric, tol))
    return out


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def renewal_window(account: Account, today: dt.date) -> int | None:
    """Which 3-month window after `today` the account renews in (0..3), if any."""
    if account.renewal_date is None or account.renewal_date < today:
        return None
    for k in range(RENEWAL_WINDOWS):
        if account.renewal_date < add_months(today, 3 * (k + 1)):
            return k
    return None


def account_figure(account: Account, band: Band, book: Book, today: dt.date) -> float:
    """What one account adds to a CSM's figure for this band."""
    if band.metric == "arr":
        return account.arr
    if band.metric == "accounts":
        return 1
    if band.metric == "red_accounts":
        return 1 if rules.account_health(account, book.policy) == "red" else 0
    return 1 if renewal_window(account, today) == band.window else 0


def band_edges(band: Band, total: Fraction, cap_total: Fraction, cap: Fraction) -> tuple[Fraction, Fraction]:
    """The lowest and highest figure a CSM of capacity `cap` may hold and be inside the band (exact)."""
    centre = total * cap / cap_total if cap_total else Fraction(0)
    half = Fraction(band.tolerance).limit_denominator(10_000) * centre
    if band.counts:
        half = max(half, Fraction(1))
    return centre - half, centre + half


def integer_edges(band: Band, total: Fraction, cap_total: Fraction, cap: Fraction) -> tuple[int, int]:
    """The band's edges as whole figures (counts and whole-currency ARR): ceil of the low, floor of the high."""
    lo, hi = band_edges(band, total, cap_total, cap)
    return math.ceil(lo), math.floor(hi)


def red_health_warning(book: Book) -> str | None:
    """`red_accounts` balanced while some accounts have no health: they count as not red, said as a warning."""
    if "red_accounts" not in book.policy.balance_metrics:
        return None
    missing = [a.id for a in book.accounts if a.health is None and a.health_score is None]
    if not missing:
        return None
    return (
        f"policy.balance_metrics.red_accounts: {len(missing)} of {len(book.accounts)} accounts have no "
        f"health or health_score (e.g. {missing[0]}); they count as not red"
    )
