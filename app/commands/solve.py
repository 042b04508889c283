"""`bookplan solve BOOK.json`: plan a book from a file; the plan JSON on stdout (or -o), a summary on stderr."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3


def register(sub: Any) -> None:
    p = sub.add_parser("solve", help="plan a book (JSON file) and print the plan JSON")
    p.add_argument("book", help="the Book JSON file (see CONTRACT.md)")
    p.add_argument("-o", "--output", help="write the plan JSON here instead of stdout")
    p.add_argument(
        "--time-limit", type=float, default=None, help="seconds (default: policy.time_limit_seconds)"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: policy.seed)")
    p.add_argument(
        "--deterministic", action="store_true", help="one worker, same plan for the same input and seed"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.cli import STARTED
    from app.commands._output import write_json_text
    from solver.engine import Progress, solve
    from solver.errors import BookError
    from solver.io import load_book

    if args.time_limit is not None and not (0 < args.time_limit <= 86_400):
        print(
            f"bookplan: --time-limit: must be between 0 and 86400 seconds (got {args.time_limit})",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        book = load_book(args.book)
    except BookError as exc:
        print(f"bookplan: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    updates: dict[str, Any] = {}
    if args.seed is not None:
        updates["seed"] = args.seed
    if args.deterministic:
        updates["deterministic"] = True
    if updates:
        book = book.model_copy(update={"policy": book.policy.model_copy(update=updates)})

    def progress(p: Progress) -> None:
        if args.quiet or not sys.stderr.isatty():
            return
        best = f"{p.max_utilization:.1%}" if p.max_utilization is not None else "-"
        print(
            f"\r  {p.elapsed_seconds:6.1f} s  pools {p.pools_done}/{p.pools_total}  largest utilization {best}"
            f"  moves {p.moves}  unassigned {p.unassigned}   ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    # The time limit is the whole command's: what reading the book took, and what writing the plan will
    # take, come off the engine's share.
    limit = args.time_limit if args.time_limit is not None else book.policy.time_limit_seconds
    writing = 0.2 + len(book.accounts) / 50_000
    engine_limit = max(0.5, limit - (time.monotonic() - STARTED) - writing)
    plan = solve(book, time_limit=engine_limit, on_progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    text = plan.model_dump_json(by_alias=True, indent=1)
    problem = write_json_text(text, args.output)
    if problem is not None:
        print(f"bookplan: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(summary(plan), file=sys.stderr)
    return EXIT_INFEASIBLE if plan.status == "infeasible" else 0


def summary(plan: Any) -> str:
    """A readable account of the plan for a CS ops person."""
    lines = [f"status: {plan.status}   ({plan.solver.seconds:.1f} s, seed {plan.solver.seed})"]
    if plan.status == "infeasible":
        lines.append("the hard rules contradict each other:")
        lines.extend(
            f"  - {d.message}" + (f": {d.relaxation}" if d.relaxation else "") for d in plan.diagnosis
        )
        return "\n".join(lines)
    if plan.max_utilization is not None and plan.objective != "min_cost":
        lines.append(
            f"largest utilization {plan.max_utilization:.1%}  (proven bound {plan.max_utilization_bound:.1%},"
            f" gap {plan.gap * 100:.2f} points)"
        )
    if plan.total_cost is not None:
        bound = f"{plan.cost_bound:,.2f}" if plan.cost_bound is not None else "-"
        lines.append(f"total cost {plan.total_cost:,.2f}  (proven bound {bound})")
    lines.append(
        f"accounts assigned {len(plan.assignments)}, unassigned {len(plan.unassigned)}, moves {len(plan.moves)}"
    )
    lines.extend(f"warning: {w}" for w in plan.warnings)
    lines.append(f"{'pool':<32} {'CSMs':>5} {'accts':>6} {'mean':>7} {'max':>7} {'bound':>7}  status")
    for p in plan.pools:
        lines.append(
            f"{p.pool[:32]:<32} {len(p.csms):>5} {p.accounts:>6} {p.mean_utilization:>7.1%}"
            f" {p.max_utilization:>7.1%} {p.max_utilization_bound:>7.1%}  {p.status}"
        )
    for u in plan.unassigned[:5]:
        lines.append(f"  unassigned {u.account}: {u.reason}")
    if len(plan.unassigned) > 5:
        lines.append(f"  ... and {len(plan.unassigned) - 5} more unassigned")
    return "\n".join(lines)
