"""`bookplan import` / `bookplan export`: the stored book in and out, as Book JSON or CRM-style CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands._service import add_database_argument, fail, open_migrated_database


def register(sub: Any) -> None:
    imp = sub.add_parser(
        "import", help="replace the stored book (JSON) or its policy (JSON), or its accounts or CSMs (CSV)"
    )
    imp.add_argument("file", help="book.json, policy.json, or a CSV of accounts or CSMs")
    imp.add_argument(
        "--kind",
        choices=["book", "policy", "accounts", "csms"],
        default=None,
        help="what the file holds (default: book for .json, accounts for .csv)",
    )
    imp.add_argument("--actor", default="cli", help="who to record in the audit log (default: cli)")
    add_database_argument(imp)
    imp.set_defaults(run=run_import)

    exp = sub.add_parser("export", help="write the stored book as Book JSON, or its accounts or CSMs as CSV")
    exp.add_argument("--kind", choices=["book", "accounts", "csms"], default="book")
    exp.add_argument("-o", "--output", help="write here instead of stdout")
    add_database_argument(exp)
    exp.set_defaults(run=run_export)


def run_import(args: argparse.Namespace) -> int:
    from app.errors import BookError
    from app.services import book as book_service
    from solver.io import load_book, load_policy

    path = Path(args.file)
    kind = args.kind or ("accounts" if path.suffix.lower() == ".csv" else "book")
    db = open_migrated_database(args)
    try:
        with db.write_session() as session:
            if kind == "book":
                result: Any = book_service.replace_book(session, load_book(path), args.actor)
            elif kind == "policy":
                result, _revision = book_service.put_policy(session, load_policy(path), args.actor)
            else:
                try:
                    text = path.read_bytes()
                except OSError as exc:
                    return fail(f"{path}: cannot read ({exc})", 2)
                action = (
                    book_service.import_accounts_csv if kind == "accounts" else book_service.import_csms_csv
                )
                result = action(session, text, args.actor)
    except BookError as exc:
        problems = getattr(exc, "problems", None)
        if problems:  # every bad cell of the file, one a line
            shown = "\n".join(f"  {p.message}" for p in problems)
            more = f"\n  ... {exc.total - len(problems)} more" if exc.total > len(problems) else ""  # type: ignore[attr-defined]
            return fail(f"{path}: {exc.total} problems, nothing imported:\n{shown}{more}", 2)  # type: ignore[attr-defined]
        return fail(f"{path}: {exc.message}", 2)
    finally:
        db.dispose()
    print(f"bookplan: imported {path} ({kind}): {result.model_dump_json()}", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from app.services import book as book_service
    from app.services import csv_io

    db = open_migrated_database(args)
    try:
        with db.session() as session:
            book, _revision = book_service.load_book(session)
    finally:
        db.dispose()
    if args.kind == "book":
        text = book.model_dump_json(indent=2, by_alias=True, exclude_none=True) + "\n"
    else:
        text = csv_io.accounts_csv(book) if args.kind == "accounts" else csv_io.csms_csv(book)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0
