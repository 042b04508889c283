"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import DbDep
from app.core.db import DatabaseNotMigrated, check_migrated
from app.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def read_health() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def read_readiness(db: DbDep) -> JSONResponse:
    """The database answers and its migrations are current."""
    try:
        revision = check_migrated(db.engine)
    except DatabaseNotMigrated as exc:
        body = Health(status="unavailable", database="migrations pending", detail=str(exc))
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    except Exception as exc:  # any driver error means "not ready", never a 500
        body = Health(status="unavailable", database="unreachable", detail=type(exc).__name__)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    return JSONResponse(Health(status="ok", database="ok", migration=revision).model_dump(exclude_none=True))
