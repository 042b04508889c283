"""Carrying out a rebalance: each CSM's change sheet (JSON and CSV) and the CRM write-back files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import DbDep, OpsKey, StartPlanKey
from app.models import ErrorResponse
from app.models_handoffs import CSMChanges
from app.services import handoffs as handoff_service
from app.services.handoffs import CrmFormat

router = APIRouter(prefix="/v1/plans", tags=["handoffs"])

PlanId = Annotated[str, Path(min_length=1, max_length=64, description="The id `POST /v1/plans` answered")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such plan"},
    409: {"model": ErrorResponse, "description": "The plan has no result yet"},
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
}


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{plan_id}/changes", response_model=list[CSMChanges], responses=RESPONSES)
def read_plan_changes(plan_id: PlanId, db: DbDep, _key: StartPlanKey, response: Response) -> list[CSMChanges]:
    """Per CSM whose book the plan changes (one entry each, as CONTRACT.md says): accounts gained and lost,
    hours and ARR before and after. `X-Bookplan-Plan-Status` says `approved` or `proposal`."""
    changes = handoff_service.change_sheets(handoff_service.load_plan_for_handoffs(db, plan_id))
    response.headers["X-Bookplan-Plan-Status"] = changes.status
    return changes.csms


@router.get("/{plan_id}/changes.csv", response_class=Response, responses={**RESPONSES, **CSV_RESPONSE})
def export_plan_changes_csv(plan_id: PlanId, db: DbDep, _key: StartPlanKey) -> Response:
    """The change sheets as CSV: one row per account gained or lost."""
    changes = handoff_service.change_sheets(handoff_service.load_plan_for_handoffs(db, plan_id))
    return _csv(handoff_service.changes_csv(changes), f"changes-{plan_id[:8]}.csv")


@router.get("/{plan_id}/handoffs.csv", response_class=Response, responses={**RESPONSES, **CSV_RESPONSE})
def export_handoffs_csv(
    plan_id: PlanId,
    db: DbDep,
    _key: OpsKey,
    format: Annotated[CrmFormat, Query(description="salesforce (Id,OwnerId), hubspot, or generic")],
    wave: Annotated[int | None, Query(ge=1, le=10_000, description="Only this wave's moves")] = None,
) -> Response:
    """The file a CRM import tool loads to change each moved account's owner (422 names CSMs without the
    identity the format needs); an unapproved plan's generic file marks each row a proposal."""
    found = handoff_service.load_plan_for_handoffs(db, plan_id)
    text = handoff_service.handoffs_csv(found, format, wave)
    return _csv(text, handoff_service.handoffs_filename(found, format, wave))
