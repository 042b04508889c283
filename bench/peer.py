"""Run one peer on one book in this process: `python -m bench.peer NAME BOOK.json OUT.json [--time-limit S]`.

The runner starts every peer through this module so each run has its own process, its own peak memory
and its own native libraries (highspy and OR-Tools' bundled HiGHS cannot share a process).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.baselines import PEERS
from bench.runs import Run
from solver.io import load_book
from solver.schema import Book

ROOT = Path(__file__).resolve().parents[1]


def run_peer(name: str, book: Book, time_limit: float | None) -> Run:
    peer = PEERS[name]
    return (
        peer(book)
        if time_limit is None or name in ("round_robin", "least_loaded")
        else peer(book, time_limit)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("name", choices=sorted(PEERS))
    parser.add_argument("book", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    run = run_peer(args.name, load_book(args.book), args.time_limit)
    args.out.write_text(json.dumps(run.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
