"""`bookplan frontier BOOK.json`: the moves–balance frontier of a book as a table (`--json` for JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3


def register(sub: Any) -> None:
    p = sub.add_parser("frontier", help="the best plan at each move budget, fewest moves to unconstrained")
    p.add_argument("book", help="the Book JSON file (see CONTRACT.md)")
    p.add_argument("--json", action="store_true", help="print the points as JSON (with each plan's moves)")
    p.add_argument(
        "--time-limit", type=float, default=None, help="seconds for the whole frontier (default: policy's)"
    )
    p.add_argument("--points", type=int, default=7, help="points to aim for (at least 2, default 7)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from solver.errors import BookError
    from solver.frontier import frontier
    from solver.io import load_book

    for name, value, low, high in (
        ("--time-limit", args.time_limit, 0, 86_400),
        ("--points", args.points, 2, 50),
    ):
        if value is not None and not (
            low < value <= high if name == "--time-limit" else low <= value <= high
        ):
            print(f"bookplan: {name}: must be between {low} and {high} (got {value})", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        book = load_book(args.book)
    except BookError as exc:
        print(f"bookplan: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = frontier(book, time_limit=args.time_limit, points=args.points)
    if result.infeasible is not None:
        if args.json:
            print(
                json.dumps(
                    {
                        "status": "infeasible",
                        "diagnosis": [d.model_dump() for d in result.infeasible.diagnosis],
                        "frontier": [],
                    },
                    indent=1,
                )
            )
        for d in result.infeasible.diagnosis:
            print(f"bookplan: infeasible: {d.message}", file=sys.stderr)
        return EXIT_INFEASIBLE
    rows = [p.figures(book) for p in result.points]
    if args.json:
        out = [
            {**row, "plan_moves": [m.model_dump(mode="json", by_alias=True) for m in p.plan.moves]}
            for row, p in zip(rows, result.points, strict=True)
        ]
        print(json.dumps({"frontier": out, "notes": result.notes}, indent=1))
        return 0
    print(table(rows))
    for note in result.notes:
        print(f"note: {note}")
    return 0


def table(rows: list[dict[str, Any]]) -> str:
    """The points as aligned columns: budget, moves, largest utilization and bound, out of band, unassigned."""
    header = ("budget", "moves", "largest util.", "bound", "out of band", "unassigned", "ARR spread")
    lines = [header]
    for row in rows:
        lines.append(
            (
                "none" if row["max_moves"] is None else str(row["max_moves"]),
                str(row["moves"]),
                _pct(row["max_utilization"]),
                _pct(row["max_utilization_bound"]),
                str(row["csms_out_of_band"]),
                str(row["unassigned"]),
                arr_spread(row["fairness"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def arr_spread(fairness: list[dict[str, Any]]) -> str:
    """The widest ARR per capacity hour spread of any pool after the plan (largest minus smallest), when the
    plan reports fairness."""
    spreads = [
        f["after"]["max"] - f["after"]["min"] for f in fairness if f.get("metric") == "arr" and f.get("after")
    ]
    return f"{max(spreads):,.0f}" if spreads else "-"
