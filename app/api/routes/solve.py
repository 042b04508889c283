"""`POST /v1/solve`: a Book in, a Plan out, in the request (small books only; the solve runs in a child)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import DbDep, IdempotencyKeyHeader, OpsKey, SyncSolverDep
from app.models import ErrorResponse
from solver.schema import Book, Plan

router = APIRouter(prefix="/v1", tags=["solve"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "A solve with this idempotency key is still running"},
    503: {"model": ErrorResponse, "description": "All synchronous slots busy, or the solver failed"},
}


@router.post("/solve", response_model=Plan, responses=RESPONSES)
def solve_book(
    book: Book, db: DbDep, solver: SyncSolverDep, key: OpsKey, idempotency_key: IdempotencyKeyHeader = None
) -> Response:
    """Plan a small book now (413 above the synchronous limit: use `POST /v1/plans`)."""
    return Response(solver.solve(db, book, idempotency_key, key.key_id), media_type="application/json")
