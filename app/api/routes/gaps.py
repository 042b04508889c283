"""`GET /v1/hiring-gaps` on the stored book and `POST /v1/hiring-gaps` on an inline one (HR tools)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import DbDep, ReadSummaryKey
from app.models import ErrorResponse
from solver.gaps import GapReport, GapRequest, GroupBy
from solver.schema import Book

router = APIRouter(prefix="/v1", tags=["hiring-gaps"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The report's solver failed"}
}


class GapBody(GapRequest):
    """A GapRequest, plus the book to analyse (`null`: the stored book)."""

    book: Book | None = None


@router.get("/hiring-gaps", response_model=GapReport, responses=RESPONSES)
async def read_hiring_gaps(
    request: Request,
    db: DbDep,
    _key: ReadSummaryKey,
    horizon_quarters: Annotated[int, Query(ge=1, le=12)] = 4,
    group_by: GroupBy = "tier_region",
    hiring_lead_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    ramp_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    time_limit_seconds: Annotated[float, Query(gt=0, le=600)] = 10.0,
) -> Response:
    """The hiring-gap report of the stored book (cached until the book changes)."""
    gap_request = GapRequest(
        horizon_quarters=horizon_quarters,
        group_by=group_by,
        hiring_lead_days=hiring_lead_days,
        ramp_days=ramp_days,
        time_limit_seconds=time_limit_seconds,
    ).model_dump(mode="json", exclude_defaults=True)
    reports = request.app.state.gap_reports
    report = await reports.cached(db, gap_request)
    if report is None:  # the first request after a change computes it, off the event loop
        report = await run_in_threadpool(reports.for_stored_book, db, gap_request)
    return Response(report, media_type="application/json")


@router.post("/hiring-gaps", response_model=GapReport, responses=RESPONSES)
def create_hiring_gaps(body: GapBody, request: Request, db: DbDep, _key: ReadSummaryKey) -> Response:
    """The hiring-gap report of an inline book with a scenario (growth, CSMs added or removed, levels)."""
    gap_request = body.model_dump(mode="json", exclude_unset=True, exclude={"book"})
    reports = request.app.state.gap_reports
    if body.book is None:
        return Response(reports.for_stored_book(db, gap_request), media_type="application/json")
    return Response(reports.compute(body.book, gap_request), media_type="application/json")
