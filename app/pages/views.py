"""What the pages show, computed from the stored book, plan jobs and gap reports: CSM loads, pools,
before/after comparisons, filtered moves, chart geometry. Pure functions of their inputs (no HTTP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from jinja2.runtime import Context

from solver.policy import (
    account_health,
    capacity_hours,
    csm_arr_cap,
    csm_has_left,
    csm_max_accounts,
    freeze_reason,
    full_capacity_hours,
    health_factor,
    hours_explained,
    is_ramping,
    pair_hours,
    pairs_index,
    segment_label,
)
from solver.policy import as_of as policy_as_of
from solver.schema import CSM, Account, Book, Plan, Policy

# ---------------------------------------------------------------- formatting (Jinja filters)


def money(value: float | None) -> str:
    if value is None:
        return "no cap"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        return f"{sign}${v / 1_000_000:.2f}M".replace(".00M", "M")
    if v >= 10_000:
        return f"{sign}${v / 1000:.0f}k"
    return f"{sign}${v:,.0f}"


def hours(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} h"


def percent(value: float | None) -> str:
    if value is None or value != value or value == float("inf"):
        return "–"
    return f"{value * 100:.0f}%"


def tier_label(tier: str | None, policy: Policy | None = None) -> str:
    """How people write the segment: its policy `label` (custom segments included), else the built-in one."""
    if not tier:
        return "–"
    return segment_label(policy or Policy(), tier)


@pass_context
def tier_filter(context: Context, tier: str | None) -> str:
    """The `tier` Jinja filter: labels from the page's `segment_policy` (the book's own segments)."""
    policy = context.get("segment_policy")
    return tier_label(tier, policy if isinstance(policy, Policy) else None)


def when(value: str | dt.datetime | None) -> str:
    if value is None:
        return "–"
    moment = value
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- the book


@dataclass
class CsmView:
    id: str
    name: str
    level: str | None
    tiers: list[str]
    regions: list[str]
    pool: str
    hours: float
    capacity: float  # hours available over the coming year (ramp and leaving counted)
    full_capacity: float
    arr: float
    arr_cap: float | None
    accounts: int
    max_accounts: int | None
    left: bool
    ramping: bool
    accepting_new: bool
    red_accounts: int = 0  # accounts whose health (given, or from the score) is red

    @property
    def utilization(self) -> float:
        if self.capacity > 0:
            return self.hours / self.capacity
        return 0.0 if self.hours == 0 else float("inf")

    @property
    def over(self) -> bool:
        return self.hours > self.capacity + 1e-6

    @property
    def arr_over(self) -> bool:
        return self.arr_cap is not None and self.arr > self.arr_cap + 1e-6

    @property
    def arr_pct(self) -> float | None:
        """ARR under management as a share of the cap, 0..100 for a mini bar (None: no cap)."""
        if self.arr_cap is None or self.arr_cap <= 0:
            return None
        return round(min(1.0, self.arr / self.arr_cap) * 100, 1)

    @property
    def accounts_pct(self) -> float | None:
        if not self.max_accounts:
            return None
        return round(min(1.0, self.accounts / self.max_accounts) * 100, 1)

    @property
    def accounts_over(self) -> bool:
        return self.max_accounts is not None and self.accounts > self.max_accounts

    @property
    def label(self) -> str:
        return self.name if self.name == self.id else f"{self.name}"


@dataclass
class PoolView:
    name: str
    csms: list[CsmView]
    accounts: int
    hours: float
    capacity: float

    @property
    def utilization(self) -> float:
        return self.hours / self.capacity if self.capacity > 0 else 0.0

    @property
    def over(self) -> int:
        return sum(1 for c in self.csms if c.over)


def pool_names(book: Book) -> dict[str, str]:
    """CSM id → the engine's name for its pool (interchangeable CSMs); CSMs who left have none."""
    from solver.prepare import build_problem

    try:
        problem = build_problem(book)
    except Exception:  # a book the engine rejects still gets a book page, pooled by tier
        return {c.id: "+".join(c.tiers) for c in book.csms}
    out: dict[str, str] = {}
    for pool in problem.pools:
        for c in pool.csms:
            out[problem.csms[c].id] = pool.name
    return out


def csm_views(book: Book, assignment: dict[str, str | None] | None = None) -> list[CsmView]:
    """Every CSM's load under `assignment` (account id → CSM id; default: each account's current CSM)."""
    policy = book.policy
    today = policy_as_of(policy)
    pairs = pairs_index(book)
    load: dict[str, list[float]] = {c.id: [0.0, 0.0, 0] for c in book.csms}
    red: dict[str, int] = {}
    for account in book.accounts:
        owner = account.current_csm if assignment is None else assignment.get(account.id)
        if owner is None or owner not in load:
            continue
        if account_health(account, policy) == "red":
            red[owner] = red.get(owner, 0) + 1
        row = load[owner]
        row[0] += pair_hours(account, pairs.get((account.id, owner)), policy)
        row[1] += account.arr
        row[2] += 1
    pools = pool_names(book)
    out = []
    for csm in book.csms:
        h, arr, n = load[csm.id]
        out.append(
            CsmView(
                id=csm.id,
                name=csm.name or csm.id,
                level=csm.level,
                tiers=list(csm.tiers),
                regions=list(csm.regions or []),
                pool=pools.get(csm.id, "left the team" if csm_has_left(csm, today) else "unpooled"),
                hours=h,
                capacity=capacity_hours(csm, policy),
                full_capacity=full_capacity_hours(csm, policy),
                arr=arr,
                arr_cap=csm_arr_cap(csm, policy),
                accounts=int(n),
                max_accounts=csm_max_accounts(csm, policy),
                left=csm_has_left(csm, today),
                ramping=is_ramping(csm, policy) and not csm_has_left(csm, today),
                accepting_new=csm.accepting_new,
                red_accounts=red.get(csm.id, 0),
            )
        )
    return out


def group_pools(csms: Iterable[CsmView]) -> list[PoolView]:
    groups: dict[str, list[CsmView]] = {}
    for c in csms:
        groups.setdefault(c.pool, []).append(c)
    pools = [
        PoolView(
            name=name,
            csms=members,
            accounts=sum(c.accounts for c in members),
            hours=sum(c.hours for c in members),
            capacity=sum(c.capacity for c in members),
        )
        for name, members in groups.items()
    ]
    return sorted(pools, key=lambda p: (p.name == "left the team", -p.utilization))


@dataclass
class AccountView:
    id: str
    name: str
    tier: str
    region: str | None
    language: str | None
    arr: float
    hours: float
    renewal_date: dt.date | None
    days_to_renewal: int | None
    pinned: bool
    freeze: str | None
    parent_id: str | None
    health: str | None = None
    hours_note: str | None = None  # "red account: 165 h, 1.5 × 110 h" when the health changes the hours


def account_views(book: Book, csm_id: str) -> list[AccountView]:
    policy = book.policy
    today = policy_as_of(policy)
    pairs = pairs_index(book)
    out = []
    for a in book.accounts:
        if a.current_csm != csm_id:
            continue
        out.append(
            AccountView(
                id=a.id,
                name=a.name or a.id,
                tier=a.tier,
                region=a.region,
                language=a.language,
                arr=a.arr,
                hours=pair_hours(a, pairs.get((a.id, csm_id)), policy),
                renewal_date=a.renewal_date,
                days_to_renewal=(a.renewal_date - today).days if a.renewal_date else None,
                pinned=a.pinned,
                freeze=freeze_reason(a, policy),
                parent_id=a.parent_id,
                health=account_health(a, policy),
                hours_note=hours_explained(a, policy) if health_factor(a, policy) != 1.0 else None,
            )
        )
    return sorted(out, key=lambda v: (v.renewal_date or dt.date.max, v.name))


# ---------------------------------------------------------------- charts


@dataclass
class Bar:
    """One row of a horizontal bar chart, as percentages of the chart's scale (the SVG viewBox is 0..100)."""

    label: str
    href: str | None
    value: float
    width: float
    text: str
    warn: bool
    marker: float | None = None  # the CSM's own capacity when it differs from the reference line
    second: float | None = None  # the "after" bar of a before/after pair
    second_text: str = ""
    second_warn: bool = False


@dataclass
class BarChart:
    bars: list[Bar]
    scale: float
    reference: float | None
    reference_at: float | None
    reference_label: str
    ticks: list[tuple[float, str]] = field(default_factory=list)


def _step(top: float) -> float:
    """A round tick step giving at most five ticks up to `top`."""
    for step in (50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10_000.0):
        if top / step <= 5:
            return step
    return 10 ** len(str(int(top)))


def _scale(values: Iterable[float], reference: float | None) -> float:
    top = max([v for v in values if v == v and v != float("inf")] + [reference or 0.0, 1.0]) * 1.04
    step = _step(top)
    return float(int(top / step + 0.999999) * step)


def _pct(value: float, scale: float) -> float:
    return round(max(0.0, min(value, scale)) / scale * 100, 2)


def _ticks(scale: float) -> list[tuple[float, str]]:
    step = _step(scale)
    return [(_pct(step * i, scale), f"{step * i:,.0f}") for i in range(int(scale / step + 0.5) + 1)]


def utilization_chart(csms: list[CsmView], reference: float) -> BarChart:
    scale = _scale((c.hours for c in csms), max([reference] + [c.capacity for c in csms]))
    bars = [
        Bar(
            label=c.name,
            href=f"/csms/{path_segment(c.id)}",
            value=c.hours,
            width=_pct(c.hours, scale),
            text=f"{c.hours:,.0f} h · {percent(c.utilization) if c.capacity else 'no capacity'}",
            warn=c.over,
            marker=None if abs(c.capacity - reference) < 0.5 else _pct(c.capacity, scale),
        )
        for c in csms
    ]
    return BarChart(bars, scale, reference, _pct(reference, scale), f"{reference:,.0f} h", _ticks(scale))


def before_after_chart(before: list[CsmView], after: dict[str, dict[str, Any]], reference: float) -> BarChart:
    values = [c.hours for c in before] + [float(a["hours"]) for a in after.values()]
    scale = _scale(values, max([reference] + [c.capacity for c in before]))
    bars = []
    for c in before:
        a = after.get(c.id)
        a_hours = float(a["hours"]) if a else 0.0
        a_cap = float(a["capacity_hours"]) if a else c.capacity
        bars.append(
            Bar(
                label=c.name,
                href=f"/csms/{path_segment(c.id)}",
                value=c.hours,
                width=_pct(c.hours, scale),
                text=f"{c.hours:,.0f} h",
                warn=c.over,
                marker=None if abs(c.capacity - reference) < 0.5 else _pct(c.capacity, scale),
                second=_pct(a_hours, scale),
                second_text=f"{a_hours:,.0f} h",
                second_warn=a_hours > a_cap + 1e-6,
            )
        )
    return BarChart(bars, scale, reference, _pct(reference, scale), f"{reference:,.0f} h", _ticks(scale))


@dataclass
class ColumnChart:
    """Needed vs current CSMs of one pool, quarter by quarter (an SVG of 320 × 160 units)."""

    title: str
    columns: list[dict[str, Any]]
    top: int
    gridlines: list[tuple[float, int]]


def gap_charts(report: dict[str, Any], policy: Policy | None = None) -> list[ColumnChart]:
    series: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for quarter in report.get("quarters", []):
        for p in quarter["pools"]:
            series.setdefault((p["tier"], p["region"]), []).append(
                {
                    "label": quarter["label"],
                    "current": float(p["csms_available"]),
                    "needed": int(p["csms_needed"]),
                    "hires": int(p["hires_needed"]),
                }
            )
    charts = []
    plot_h, base_y, left, width = 110.0, 130.0, 28.0, 284.0
    for (tier, region), points in series.items():
        top = max([1] + [int(p["needed"]) for p in points] + [int(p["current"] + 0.999) for p in points])
        slot = width / max(1, len(points))
        columns = []
        for i, p in enumerate(points):
            x = left + i * slot
            bar_w = min(22.0, slot / 2 - 4)
            h_cur = p["current"] / top * plot_h
            h_need = p["needed"] / top * plot_h
            columns.append(
                {
                    **p,
                    "x_current": round(x + slot / 2 - bar_w - 1, 1),
                    "x_needed": round(x + slot / 2 + 1, 1),
                    "width": round(bar_w, 1),
                    "y_current": round(base_y - h_cur, 1),
                    "h_current": round(h_cur, 1),
                    "y_needed": round(base_y - h_need, 1),
                    "h_needed": round(h_need, 1),
                    "x_label": round(x + slot / 2, 1),
                    "short": p["current"] + 1e-6 < p["needed"],
                }
            )
        step = max(1, (top + 3) // 4)
        gridlines = [(round(base_y - v / top * plot_h, 1), v) for v in range(0, top + 1, step)]
        charts.append(
            ColumnChart(f"{tier_label(tier, policy)} · {region or 'any region'}", columns, top, gridlines)
        )
    return charts


# ---------------------------------------------------------------- plans


@dataclass
class MoveView:
    account: str
    account_name: str
    tier: str
    region: str | None
    arr: float
    hours: float
    from_csm: str | None
    from_name: str
    to_csm: str
    to_name: str
    reason: str


def move_views(plan: Plan, book: Book) -> list[MoveView]:
    accounts: dict[str, Account] = {a.id: a for a in book.accounts}
    names: dict[str, str] = {c.id: c.name or c.id for c in book.csms}
    out = []
    for m in plan.moves:
        a = accounts.get(m.account)
        out.append(
            MoveView(
                account=m.account,
                account_name=(a.name if a and a.name else m.account),
                tier=a.tier if a else "",
                region=a.region if a else None,
                arr=m.arr or (a.arr if a else 0.0),
                hours=m.hours,
                from_csm=m.from_,
                from_name=names.get(m.from_, m.from_) if m.from_ else "unassigned",
                to_csm=m.to,
                to_name=names.get(m.to, m.to),
                reason=m.reason,
            )
        )
    return out


def filter_moves(
    moves: list[MoveView], csm: str | None, tier: str | None, region: str | None
) -> list[MoveView]:
    return [
        m
        for m in moves
        if (not csm or csm in (m.from_csm, m.to_csm))
        and (not tier or m.tier == tier)
        and (not region or (m.region or "") == region)
    ]


def csm_options(book: Book) -> list[CSM]:
    return sorted(book.csms, key=lambda c: (c.name or c.id).lower())


def path_segment(value: object) -> str:
    """A value quoted to be one URL path segment (`/`, `?`, `#`, `%` and spaces escaped)."""
    return quote(str(value), safe="")
