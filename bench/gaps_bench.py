"""Times `bookplan gaps` end to end on a generated book: `python -m bench.gaps_bench [--accounts N]`.

Each run is a fresh `bookplan gaps BOOK.json --request REQUEST.json` process (start-up, JSON parsing, the
report over a four-quarter horizon with growth in every tier, JSON writing), on the book
`bench.books.generate_book(N, seed=...)` writes. Prints one JSON line per run and a summary with the
median; exits 1 when the median is over the budget (30 s for 20,000 accounts, the issue's target).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.books import generate_book, generate_rebalance_book

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 30.0
# Growth an HR planner would ask about: every tier growing, the large ones faster in ARR than in logos.
REQUEST = {
    "horizon_quarters": 4,
    "growth": {
        "strategic": {"accounts_per_quarter": 0.03, "arr_per_quarter": 0.05},
        "enterprise": {"accounts_per_quarter": 0.05, "arr_per_quarter": 0.07},
        "mid_market": {"accounts_per_quarter": 0.06, "arr_per_quarter": 0.06},
        "smb": {"accounts_per_quarter": 0.08, "arr_per_quarter": 0.08},
    },
}


def time_gaps(book_path: Path, request_path: Path, out_path: Path) -> float:
    cmd = [
        sys.executable,
        "-m",
        "app",
        "gaps",
        str(book_path),
        "--request",
        str(request_path),
        "-o",
        str(out_path),
    ]
    started = time.perf_counter()
    subprocess.run([*cmd, "-q"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gaps_bench", description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--historical", action="store_true", help="a rebalance book (assignments, pins, freezes, a leaver)"
    )
    args = parser.parse_args(argv)
    make = generate_rebalance_book if args.historical else generate_book
    book = make(args.accounts, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="bookplan-gaps-bench-") as tmp:
        book_path, request_path, out_path = (
            Path(tmp) / "book.json",
            Path(tmp) / "req.json",
            Path(tmp) / "out.json",
        )
        book_path.write_text(book.model_dump_json(exclude_none=True))
        request_path.write_text(json.dumps(REQUEST))
        seconds = []
        for run in range(args.runs):
            elapsed = time_gaps(book_path, request_path, out_path)
            seconds.append(elapsed)
            report = json.loads(out_path.read_text())
            print(
                json.dumps(
                    {
                        "run": run,
                        "seconds": round(elapsed, 2),
                        "solver_seconds": report["solver"]["seconds"],
                        "packings": report["solver"]["packings"],
                        "cp_sat_packings": report["solver"]["cp_sat_packings"],
                        "proven": report["solver"]["proven"],
                        "pools": len(report["pools"]),
                        "hires": report["total_cost"]["hires"],
                    }
                )
            )
    median = statistics.median(seconds)
    summary = {
        "bench": "bookplan gaps",
        "accounts": args.accounts,
        "csms": len(book.csms),
        "book": "historical" if args.historical else "fresh",
        "seed": args.seed,
        "runs": args.runs,
        "median_seconds": round(median, 2),
        "budget_seconds": BUDGET_SECONDS,
    }
    print(json.dumps(summary))
    return 0 if median <= BUDGET_SECONDS * max(1.0, args.accounts / 20_000) else 1


if __name__ == "__main__":
    sys.exit(main())
