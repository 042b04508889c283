"""`POST /v1/recommendations`: which CSM should take each new account, without moving anyone."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from app.api.deps import DbDep, IdempotencyKeyHeader, StartPlanKey
from app.models import ErrorResponse
from app.models_routing import RecommendationRequest, RecommendationResponse
from app.services import recommendations as routing_service

router = APIRouter(prefix="/v1", tags=["recommendations"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "`assign: true` with a key without the ops scope"},
    409: {"model": ErrorResponse, "description": "A new account's id is already in the book (named)"},
}


@router.post("/recommendations", response_model=RecommendationResponse, responses=RESPONSES)
async def create_recommendations(
    request: Request,
    db: DbDep,
    key: StartPlanKey,
    body: Annotated[RecommendationRequest, Body()],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """For each new account, CSMs best first (utilization and ARR after, reasons) and those excluded, by
    rule; the batch is placed together and nothing in the book moves. `assign: true` (ops) writes the first
    candidates as a new book revision, idempotent with `Idempotency-Key`."""
    started = time.perf_counter()
    cache: routing_service.RoutingCache = request.app.state.routing_cache
    data = await routing_service.recommendations_json(db, cache, body, key, idempotency_key)
    timing = f"recommend;dur={(time.perf_counter() - started) * 1000:.2f}"
    return Response(data, media_type="application/json", headers={"Server-Timing": timing})
