"""`bookplan export-handoffs PLAN_ID --format salesforce|hubspot|generic [--wave N]`: the CRM write-back file
of a stored plan, as `GET /v1/plans/{id}/handoffs.csv` gives it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands._service import add_database_argument, fail, open_migrated_database

FORMATS = ("salesforce", "hubspot", "generic")


def register(sub: Any) -> None:
    exp = sub.add_parser(
        "export-handoffs",
        help="write a plan's CRM write-back file (Salesforce Data Loader, HubSpot import, or generic CSV)",
    )
    exp.add_argument("plan_id", help="the plan's id (as POST /v1/plans answered)")
    exp.add_argument("--format", choices=FORMATS, required=True, help="the CRM import format")
    exp.add_argument("--wave", type=int, default=None, help="only this wave's moves (1, 2, ...)")
    exp.add_argument("-o", "--output", help="write here instead of stdout")
    add_database_argument(exp)
    exp.set_defaults(run=run_export_handoffs)


def run_export_handoffs(args: argparse.Namespace) -> int:
    from app.errors import BookError, Conflict, NotFound
    from app.services import handoffs as handoff_service

    if args.wave is not None and args.wave < 1:
        return fail(f"--wave: waves start at 1 (got {args.wave})", 2)
    db = open_migrated_database(args)
    try:
        found = handoff_service.load_plan_for_handoffs(db, args.plan_id)
        text = handoff_service.handoffs_csv(found, args.format, args.wave)
    except (BookError, NotFound) as exc:
        return fail(exc.message, 2)
    except Conflict as exc:
        return fail(exc.message, 1)
    finally:
        db.dispose()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if not found.approved:
        print("bookplan: this plan is not approved: the file is a proposal", file=sys.stderr)
    return 0
