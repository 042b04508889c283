"""`bookplan gaps BOOK.json`: the hiring-gap report; JSON on stdout (or -o), a readable table on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


def register(sub: Any) -> None:
    p = sub.add_parser("gaps", help="hiring-gap report: CSMs needed per pool, when to hire them, the cost")
    p.add_argument("book", help="the Book JSON file (see CONTRACT.md)")
    p.add_argument("--request", help="a scenario JSON file: growth, horizon, levels, CSMs added or removed")
    p.add_argument("--horizon", type=int, default=None, help="quarters to look ahead, 1-12 (default 4)")
    p.add_argument("-o", "--output", help="write the report JSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no table on stderr")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.commands._output import write_json_text
    from solver.errors import BookError, parse_json
    from solver.gaps import gap_request_from_data, hiring_gaps
    from solver.io import load_book

    try:
        book = load_book(args.book)
        data: Any = {}
        if args.request:
            try:
                raw = Path(args.request).read_bytes()
            except OSError as exc:
                raise BookError(
                    f"--request {args.request}: cannot read ({exc.strerror})", field="request"
                ) from None
            data = parse_json(raw, "request")
        if args.horizon is not None and isinstance(data, dict):
            data = {**data, "horizon_quarters": args.horizon}
        request = gap_request_from_data(data)
        report = hiring_gaps(book, request)
    except BookError as exc:
        print(f"bookplan: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    problem = write_json_text(json.dumps(report.to_json_dict(), indent=1), args.output)
    if problem is not None:
        print(f"bookplan: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(table(report), file=sys.stderr)
    return 0


def table(report: Any) -> str:
    """The report as an HR reader would scan it: pools, hires by quarter, managers and cost."""
    from solver.problem import money

    head = (
        "pool",
        "accounts",
        "ARR",
        "hours",
        "capacity",
        "CSMs",
        "needed",
        "gap",
        "hires",
        "ARR rule",
        "unserved",
    )
    rows = [head]
    for p in report.pools:
        pool = f"{p.tier} {p.region}" if p.region else p.tier
        needed = f"{p.csms_needed}" if p.proven else f"{p.csms_needed} (≥{p.csms_needed_lower_bound})"
        rows.append(
            (
                pool,
                f"{p.accounts:,}",
                money(p.arr),
                f"{p.demand_hours:,.0f}",
                f"{p.capacity_hours:,.0f}",
                f"{p.csms:g}",
                needed,
                f"{p.gap:+g}" if p.gap else "0",
                f"{p.hires}",
                f"{p.arr_rule_csms:.1f}",
                f"{p.unserved_accounts:,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [f"hiring gaps as of {report.as_of.isoformat()}, {report.horizon_quarters} quarters ahead"]
    for i, r in enumerate(rows):
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if report.hires:
        lines.append("hires:")
        groups: dict[tuple[Any, ...], int] = {}
        for h in report.hires:
            key = (h.quarter, h.needed_by, h.hire_by, h.late, h.tier, h.region, h.level)
            groups[key] = groups.get(key, 0) + h.count
        for (quarter, needed_by, hire_by, late, tier, region, level), n in groups.items():
            where = " ".join(x for x in (tier, region) if x) or "CS team"
            flag = "  LATE: hire now" if late else ""
            lines.append(
                f"  {n} x {level:<13} {where:<18} needed {quarter} ({needed_by.isoformat()}), "
                f"hire by {hire_by.isoformat()}{flag}"
            )
    else:
        lines.append("hires: none needed over the horizon")
    m = report.managers
    span = (
        f"{m.managers_needed_min}"
        if m.managers_needed_min == m.managers_needed_max
        else (f"{m.managers_needed_min}-{m.managers_needed_max}")
    )
    lines.append(
        f"managers: {m.csms_after_hiring} CSMs after hiring need {span} CS Manager(s) "
        f"(one per 5-8 CSMs); {m.managers} in the book, {m.hires} to hire"
    )
    c = report.total_cost
    lines.append(
        f"cost of {c.hires} hires: base {money(c.base_min)}-{money(c.base_max)}, "
        f"OTE {money(c.ote_min)}-{money(c.ote_max)} a year"
    )
    fired = [t for t in report.triggers if t.fired]
    if fired and not any(p.csms for p in report.pools):
        lines.append("triggers: " + "; ".join(f"{t.message} ({t.quarter})" for t in fired))
    for note in report.notes:
        lines.append(f"note: {note}")
    if not report.solver.proven:
        lines.append(
            "note: some pools' csms_needed are not proven optimal in the time limit (see lower bounds)"
        )
    return "\n".join(lines)
