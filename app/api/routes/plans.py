"""Plan jobs: start (202), follow, list, cancel, approve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import (
    DbDep,
    IdempotencyKeyHeader,
    OpsKey,
    RunnerDep,
    SessionDep,
    SettingsDep,
    StartPlanKey,
)
from app.models import (
    MAX_OFFSET,
    MAX_PAGE,
    ApprovalResult,
    ApproveRequest,
    ErrorResponse,
    JobStatus,
    PlanComparison,
    PlanCreated,
    PlanJobList,
    PlanJobPublic,
    PlanRequest,
    ReplanRequest,
)
from app.services import compare as compare_service
from app.services import plans as plan_service
from app.services import replan as replan_service

router = APIRouter(prefix="/v1/plans", tags=["plans"])
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "The key has as many queued and running jobs as allowed (Retry-After says when to retry)",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
    }
}

PlanId = Annotated[str, Path(min_length=1, max_length=64, description="The id `POST /v1/plans` answered")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such plan"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Not in a state that allows this (or stale, with `changes`)"}
}


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=PlanCreated, responses=TOO_MANY)
def create_plan(
    db: DbDep,
    runner: RunnerDep,
    settings: SettingsDep,
    key: StartPlanKey,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
    request: Annotated[PlanRequest, Body()] = PlanRequest(),
) -> PlanCreated:
    """Start a plan job on the stored book (`{}`), an inline book, or with policy overrides; poll `url`."""
    created, _new = plan_service.create_plan_job(db, runner, settings, request, key, idempotency_key)
    response.headers["Location"] = created.url
    return created


@router.get("", response_model=PlanJobList)
def read_plans(
    session: SessionDep,
    _key: StartPlanKey,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: JobStatus | None = None,
) -> PlanJobList:
    """Plan history, newest first."""
    return plan_service.list_plan_jobs(session, limit, offset, status)


@router.get("/compare", response_model=PlanComparison, responses=NOT_FOUND)
def compare_plans(
    session: SessionDep,
    _key: StartPlanKey,
    ids: Annotated[str, Query(min_length=1, max_length=400, description="2 to 4 plan ids: A,B[,C,D]")],
) -> PlanComparison:
    """Plans side by side: moves, largest utilization and bound, out of band, fairness, every CSM's figures."""
    return PlanComparison.model_validate(compare_service.compare_plans(session, ids))


@router.get("/{plan_id}", response_model=PlanJobPublic, responses=NOT_FOUND)
async def read_plan(plan_id: PlanId, db: DbDep, _key: StartPlanKey) -> Response:
    """The job: status, progress while running (elapsed seconds, best figures so far), the plan once done."""
    return Response(await plan_service.plan_job_json_cached(db, plan_id), media_type="application/json")


@router.delete("/{plan_id}", response_model=PlanJobPublic, responses={**NOT_FOUND, **CONFLICT, **TOO_MANY})
def cancel_plan(plan_id: PlanId, db: DbDep, runner: RunnerDep, key: StartPlanKey) -> Response:
    """Cancel a queued or running job; a running solve is stopped within seconds. A scheduler key may
    cancel the jobs it started; an ops key any job."""
    plan_service.cancel_plan_job(db, runner, plan_id, key)
    with db.session() as session:
        return Response(plan_service.plan_job_json(session, plan_id), media_type="application/json")


@router.post("/{plan_id}/approve", response_model=ApprovalResult, responses={**NOT_FOUND, **CONFLICT})
def approve_plan(
    plan_id: PlanId,
    db: DbDep,
    key: OpsKey,
    request: Annotated[ApproveRequest | None, Body()] = None,
) -> ApprovalResult:
    """Apply the plan's moves (or only `moves`) in one transaction, an audit event per move; 409 if stale, a
    scenario, or if the moves left out leave a hard rule broken."""
    note = request.note if request is not None else None
    moves = request.moves if request is not None else None
    return plan_service.approve_plan(db, plan_id, key, note, moves)


@router.post(
    "/{plan_id}/replan",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanCreated,
    responses={**NOT_FOUND, **CONFLICT},
)
def replan_plan(
    plan_id: PlanId,
    db: DbDep,
    runner: RunnerDep,
    settings: SettingsDep,
    key: OpsKey,
    response: Response,
    request: Annotated[ReplanRequest, Body()],
) -> PlanCreated:
    """Re-plan around vetoes: rejected accounts stay with their CSM, kept moves stay, the rest re-optimised."""
    created = replan_service.replan(db, runner, settings, plan_id, request, key)
    response.headers["Location"] = created.url
    return created
