"""The plan schedule: read it, replace it (ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app.api.deps import DbDep, OpsKey, SettingsDep
from app.models_workers import SchedulePublic, ScheduleUpdate
from app.services import schedule as schedule_service

router = APIRouter(prefix="/v1/schedule", tags=["schedule"])


@router.get("", response_model=SchedulePublic)
def read_schedule(db: DbDep, settings: SettingsDep, _key: OpsKey) -> SchedulePublic:
    """When plans of the stored book start by themselves (default: 06:00 on the first day of each quarter),
    the next run, and the recent scheduled plans with what was decided about them."""
    return schedule_service.read_schedule(db, settings)


@router.put("", response_model=SchedulePublic)
def replace_schedule(
    db: DbDep, settings: SettingsDep, key: OpsKey, request: Annotated[ScheduleUpdate, Body()]
) -> SchedulePublic:
    """Replace the schedule. Scheduled plans are proposals unless `auto_approve` and within `max_moves`."""
    return schedule_service.write_schedule(db, settings, request, key)
