"""Solver-free re-check of `plan.fairness`: every figure recomputed from the book and the plan alone.

The rules, from CONTRACT.md "Balance beyond hours", stated here again rather than taken from the engine:
per pool (the CSMs of `plan.pools[].csms` that have not left and have capacity), one entry for `hours`,
one per band of `balance_metrics` (`renewals` as `renewals_q1`..`renewals_q4`, the four 3-month windows
after `as_of`) and one for `arr`. Each CSM's value is their total per capacity hour; `mean` is the pool's
total over its total capacity; `cv` and `gini` are of the CSMs' values; `out_of_band` counts CSMs outside
the band (hours: `balance_tolerance` points of utilization; a metric: its tolerance times the mean per
capacity hour, never under one for counts; a value on the edge is inside). `before` is the book as it stands.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from fractions import Fraction

from solver import policy as rules
from solver import validation_rules as book_rules
from solver.schema import Account, Book, FairnessFigures, Plan

FIGURE_TOLERANCE = 1e-5  # the plan rounds figures to 6 decimals

Figure = tuple[str, str, float | None]  # (name, metric, tolerance or None for no band)


def _months_later(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _contribution(account: Account, name: str, book: Book, today: dt.date) -> Fraction:
    if name == "arr":
        return Fraction(account.arr)
    if name == "accounts":
        return Fraction(1)
    if name == "red_accounts":
        return Fraction(int(rules.account_health(account, book.policy) == "red"))
    k = int(name.removeprefix("renewals_q"))
    start, end = _months_later(today, 3 * (k - 1)), _months_later(today, 3 * k)
    return Fraction(int(account.renewal_date is not None and start <= account.renewal_date < end))


def _figures_shown(book: Book) -> list[Figure]:
    out: list[Figure] = [("hours", "hours", book.policy.balance_tolerance)]
    for metric, tol in book.policy.balance_metrics.items():
        if metric == "renewals":
            out.extend((f"renewals_q{k}", metric, tol) for k in range(1, 5))
        else:
            out.append((metric, metric, tol))
    if "arr" not in book.policy.balance_metrics:
        out.append(("arr", "arr", None))
    return out


def _summary(
    values: dict[str, Fraction], caps: dict[str, Fraction], metric: str, tol: float | None
) -> tuple[list[float], int]:
    """[min, max, mean, cv, gini] and the number outside the band."""
    per = [values[c] / caps[c] for c in caps]
    n = len(per)
    total, cap_total = sum(values.values(), Fraction(0)), sum(caps.values(), Fraction(0))
    mean = total / cap_total
    simple = sum(per, Fraction(0)) / n
    cv = math.sqrt(sum(((v - simple) ** 2 for v in per), Fraction(0)) / n) / float(simple) if simple else 0.0
    pairs = sum((abs(a - b) for a in per for b in per), Fraction(0))
    gini = float(pairs / (2 * n * n * simple)) if simple else 0.0
    out = 0
    if tol is not None:
        t = Fraction(tol).limit_denominator(10_000)
        for c, cap in caps.items():
            if metric == "hours":
                out += abs(values[c] / cap - mean) > t
            else:
                centre = total * cap / cap_total
                half = t * centre
                if metric != "arr":
                    half = max(half, Fraction(1))
                out += abs(values[c] - centre) > half
    return [float(min(per)), float(max(per)), float(mean), cv, gini], out


def _compare(where: str, got: FairnessFigures | None, want: tuple[list[float], int] | None) -> list[str]:
    if want is None:
        return [] if got is None else [f"{where}: the plan gives figures where nobody held an account"]
    if got is None:
        return [f"{where}: figures missing"]
    values, out = want
    problems = []
    for field, w in zip(("min", "max", "mean", "cv", "gini"), values, strict=True):
        g = getattr(got, field)
        if abs(g - w) > max(FIGURE_TOLERANCE, 1e-6 * abs(w)):
            problems.append(f"{where}.{field} is {g:g}, recomputed {w:g}")
    if got.out_of_band != out:
        problems.append(f"{where}.out_of_band is {got.out_of_band}, recomputed {out}")
    return problems


def fairness_problems(book: Book, plan: Plan) -> list[str]:
    """Every way `plan.fairness` differs from the figures recomputed from the book and the plan."""
    pol = book.policy if plan.as_of is None else book.policy.model_copy(update={"as_of": plan.as_of})
    today = rules.as_of(pol)
    pairs = rules.pairs_index(book)
    # Each CSM's capacity as the book gives it (not the plan's rounded figure).
    caps_of = {c.id: Fraction(book_rules.capacity(c, pol, today)) for c in book.csms}
    left = {c.id for c in book.csms if rules.csm_has_left(c, today)}
    after_csm = {a.account: a.csm for a in plan.assignments}
    shown = _figures_shown(book)
    expected: dict[tuple[str, str], tuple[tuple[list[float], int] | None, tuple[list[float], int]]] = {}
    totals: dict[str, dict[str, dict[str, Fraction]]] = {"before": {}, "after": {}}
    for a in book.accounts:
        for when, who in (("after", after_csm.get(a.id)), ("before", a.current_csm)):
            if who is None:
                continue
            mine = totals[when].setdefault(who, {name: Fraction(0) for name, _, _ in shown})
            for name, _, _ in shown:
                if name == "hours":
                    mine[name] += Fraction(str(rules.pair_hours(a, pairs.get((a.id, who)), pol)))
                else:
                    mine[name] += _contribution(a, name, book, today)
    for pool in plan.pools:
        caps = {c: caps_of[c] for c in pool.csms if c not in left and caps_of.get(c, 0) > 0}
        if not caps:
            continue
        held_before = any(c in totals["before"] for c in caps)
        for name, metric, tol in shown:
            values = {
                when: {c: totals[when].get(c, {}).get(name, Fraction(0)) for c in caps}
                for when in ("before", "after")
            }
            after = _summary(values["after"], caps, metric, tol)
            before = _summary(values["before"], caps, metric, tol) if held_before else None
            expected[pool.pool, name] = (before, after)
    problems: list[str] = []
    given = {(f.pool, f.metric): f for f in plan.fairness}
    for key in sorted(set(expected) - set(given)):
        problems.append(f"fairness for pool {key[0]!r}, {key[1]} is missing")
    for key in sorted(set(given) - set(expected)):
        problems.append(f"fairness for pool {key[0]!r}, {key[1]} is not a figure of this book")
    for key in sorted(set(expected) & set(given)):
        before, after = expected[key]
        where = f"fairness[{key[0]}, {key[1]}]"
        problems += _compare(where + ".before", given[key].before, before)
        problems += _compare(where + ".after", given[key].after, after)
    return problems
