"""Dependencies shared by the routes: settings, database sessions, the runner, and the caller's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import Database
from app.errors import Forbidden, Unauthorized
from app.runner.base import JobRunner
from app.services.keys import KeyCache, Principal, authenticate, cached_principal
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

bearer = HTTPBearer(auto_error=False, description="An API key from `bookplan keys create --scope ...`.")


def require_scopes(*scopes: str) -> Callable[..., Principal]:
    """Admits keys holding any of `scopes`: 401 without a valid key, 403 without the scope."""

    async def dependency(
        request: Request,
        db: DbDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        # Async, so a key found in the cache costs no thread hop; only a miss queries, in the thread pool.
        if credentials is None or not credentials.credentials:
            raise Unauthorized("Authorization: send `Authorization: Bearer <key>`", field="Authorization")
        cache: KeyCache | None = getattr(request.app.state, "key_cache", None)
        hit, principal = cached_principal(credentials.credentials, cache)
        if not hit:

            def lookup() -> Principal | None:
                with db.session() as session:
                    return authenticate(session, credentials.credentials, cache)

            principal = await run_in_threadpool(lookup)
        if principal is None:
            raise Unauthorized(
                "Authorization: the key is not valid (unknown or revoked)", field="Authorization"
            )
        if not principal.scopes.intersection(scopes):
            raise Forbidden(
                f"Authorization: key {principal.name!r} has scope {', '.join(sorted(principal.scopes))}; "
                f"this route needs {' or '.join(scopes)}",
                field="Authorization",
            )
        return principal

    return dependency  # type: ignore[return-value]


OpsKey = Annotated[Principal, Depends(require_scopes("ops"))]
ReadSummaryKey = Annotated[Principal, Depends(require_scopes("ops", "hr"))]
StartPlanKey = Annotated[Principal, Depends(require_scopes("ops", "scheduler"))]
