"""The hiring-gap pages: the report for the stored book (charts and table) and its CSV download."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.errors import BookError, SolveFailed
from app.pages import views
from app.pages.common import BOOK_READERS, _db, _error_page, _stored_book, guard, render
from app.services.csv_cells import neutralise

router = APIRouter(include_in_schema=False)


def _gap_report(request: Request) -> dict[str, Any]:
    report: bytes = request.app.state.gap_reports.for_stored_book(_db(request), {})
    data: dict[str, Any] = json.loads(report)
    return data


@router.get("/gaps")
def gaps_page(request: Request) -> Response:
    page = guard(request, BOOK_READERS, "hiring gaps")
    if isinstance(page, Response):
        return page
    try:
        report = _gap_report(request)
    except (BookError, SolveFailed) as exc:
        return _error_page(request, page, exc, 503)
    policy = _stored_book(request)[0].policy
    context = {
        "session": page,
        "report": report,
        "charts": views.gap_charts(report, policy),
        "segment_policy": policy,
    }
    return render(request, "gaps.html", context)


CSV_COLUMNS = (
    "tier",
    "region",
    "count",
    "level",
    "needed_by",
    "hire_by",
    "quarter",
    "late",
    "base_min",
    "base_max",
    "ote_min",
    "ote_max",
    "reason",
)


@router.get("/gaps.csv")
def gaps_csv(request: Request) -> Response:
    page = guard(request, BOOK_READERS, "hiring gaps")
    if isinstance(page, Response):
        return page
    try:
        report = _gap_report(request)
    except (BookError, SolveFailed) as exc:
        return _error_page(request, page, exc, 503)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for h in report["hires"]:
        writer.writerow(
            [
                neutralise(h["tier"] or ""),
                neutralise(h["region"] or ""),
                h["count"],
                h["level"],
                h["needed_by"],
                h["hire_by"],
                h["quarter"],
                "yes" if h["late"] else "no",
                h["base_range"][0],
                h["base_range"][1],
                h["ote_range"][0],
                h["ote_range"][1],
                neutralise(h["reason"]),
            ]
        )
    filename = f"bookplan-hires-{report['as_of']}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
