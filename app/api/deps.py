"""Dependencies shared by the routes: settings, database sessions, the runner, and the caller's key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from app.api.auth import require_scopes
from app.core.config import Settings
from app.core.db import Database
from app.runner.base import JobRunner
from app.services.keys import Principal
from app.services.solve import SyncSolver


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


async def get_sync_solver(request: Request) -> SyncSolver:
    return request.app.state.sync_solver


DbDep = Annotated[Database, Depends(get_db)]


def get_session(db: DbDep) -> Iterator[Session]:
    with db.session() as session:
        yield session


def get_write_session(db: DbDep) -> Iterator[Session]:
    """A session that takes the write lock at its first statement (SQLite); the service commits."""
    with db.write_session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
SyncSolverDep = Annotated[SyncSolver, Depends(get_sync_solver)]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Same key and same body: the same answer; same key and another body: 422.",
    ),
]

OpsKey = Annotated[Principal, Depends(require_scopes("ops"))]
ReadSummaryKey = Annotated[Principal, Depends(require_scopes("ops", "hr"))]
StartPlanKey = Annotated[Principal, Depends(require_scopes("ops", "scheduler"))]
