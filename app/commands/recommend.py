"""`bookplan recommend BOOK.json NEW.json [--top N]`: which CSM should take each new account (JSON on stdout,
a readable table on stderr), the same answer as `POST /v1/recommendations` without `assign`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "recommend", help="route new accounts: the CSMs best placed to take each, nobody moved"
    )
    p.add_argument("book", help="the Book JSON file (see CONTRACT.md)")
    p.add_argument("new", help='the new accounts: a JSON list of accounts, or {"accounts": [...]}')
    p.add_argument("--top", type=int, default=3, help="candidates to list per account (default 3)")
    p.add_argument("-o", "--output", help="write the JSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no table on stderr")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.commands._output import write_json_text
    from solver.errors import BookError, parse_json
    from solver.io import load_book
    from solver.recommend import recommend
    from solver.routing_book import prepare_routing_book
    from solver.routing_input import new_accounts_from_data

    try:
        if not 1 <= args.top <= 50:
            raise BookError(f"--top: must be between 1 and 50 (got {args.top})", field="top", value=args.top)
        book = load_book(args.book)
        try:
            raw = Path(args.new).read_bytes()
        except OSError as exc:
            raise BookError(
                f"{args.new}: cannot read the new accounts ({exc.strerror})", field="new"
            ) from None
        data = parse_json(raw, "new accounts")
        if isinstance(data, dict):
            unknown = sorted(set(data) - {"accounts", "top", "assign"})
            if unknown:
                raise BookError(f"{unknown[0]}: unknown field (typo?)", field=unknown[0])
            data = data.get("accounts")
        routing = prepare_routing_book(book)
        recs = recommend(routing, new_accounts_from_data(routing, data), top=args.top)
    except BookError as exc:
        print(f"bookplan: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    payload = {"recommendations": [r.model_dump(mode="json") for r in recs]}
    problem = write_json_text(json.dumps(payload, indent=1), args.output)
    if problem is not None:
        print(f"bookplan: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(table(recs), file=sys.stderr)
    return 0


def table(recs: list[Any]) -> str:
    """One block per account: its candidates with utilization after, then the exclusions in words."""
    lines: list[str] = []
    for rec in recs:
        lines.append(f"{rec.account} ({rec.hours:g} h){' · ' + rec.pool if rec.pool else ''}")
        for rank, c in enumerate(rec.candidates, start=1):
            lines.append(
                f"  {rank}. {c.csm:<20} {c.utilization_after:>6.1%} after  ARR {c.arr_after:>14,.0f}"
            )
        if not rec.candidates:
            lines.append(f"  no candidate: {rec.note}")
        for e in rec.excluded:
            lines.append(f"     excluded {e.reason}")
    return "\n".join(lines)
