"""Builds the bookplan HTTP service: settings, database, runner, routers and the error mapping."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api.auth import AuthBeforeBodyMiddleware
from app.api.errors import BodyLimitMiddleware, install_error_handlers
from app.api.hygiene import NulGuardMiddleware
from app.api.routes import audit, book, gaps, handoffs, health, plans, recommendations, schedule, solve
from app.core.config import Settings, get_settings
from app.core.db import Database, check_migrated
from app.models import ErrorResponse
from app.runner.base import JobRunner
from app.runner.child import use_start_method
from app.runner.inprocess import InProcessRunner
from app.services.book import SummaryCache
from app.services.gaps import GapReports
from app.services.keys import KeyCache
from app.services.recommendations import RoutingCache
from app.services.schedule import EmbeddedTicker
from app.services.solve import SyncSolver
from app.services.webhooks import WebhookSender

log = logging.getLogger("bookplan")

API_ERRORS = {
    401: {"model": ErrorResponse, "description": "No key, or a key that is not valid"},
    403: {"model": ErrorResponse, "description": "The key lacks the scope this route needs"},
    413: {"model": ErrorResponse, "description": "Body larger than the limit"},
    422: {"model": ErrorResponse, "description": "Invalid input: the field and the value are named"},
}


def _operation_id(route: APIRoute) -> str:
    return route.name


def _default_runner(db: Database, settings: Settings) -> JobRunner:
    """`bookplan worker` processes on PostgreSQL (unless `BOOKPLAN_RUNNER=inprocess`), else the service's
    own threads."""
    if settings.uses_workers:
        from app.runner.distributed import DistributedRunner

        return DistributedRunner(db, settings)
    return InProcessRunner(db, settings)


def create_app(settings: Settings | None = None, *, runner: JobRunner | None = None) -> FastAPI:
    """The app. Its lifespan checks the database is migrated (refusing to start otherwise) and runs the
    job runner; `runner` replaces the in-process one (tests, or a distributed runner)."""
    settings = settings or get_settings()
    use_start_method(settings.child_start_method, settings.child_nice)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        try:
            check_migrated(db.engine)
            job_runner = runner or _default_runner(db, settings)
            app.state.db = db
            app.state.runner = job_runner
            job_runner.start()
            # The schedule and webhooks (app/services/schedule.py); workers tick too when there are some.
            ticker = EmbeddedTicker(db, job_runner, settings)
            ticker.start()
            sender = WebhookSender(db, settings)
            sender.start()
            # What start-up loaded (OR-Tools, pydantic schemas...) lives as long as the process: freezing it
            # keeps the collector from re-scanning it in every full collection, a tail-latency cost.
            gc.freeze()
            try:
                yield
            finally:
                ticker.stop()
                sender.stop()
                job_runner.stop()
        finally:
            db.dispose()

    app = FastAPI(
        title="bookplan",
        version="0.1.0",
        summary="Plans Customer Success books of business with CP-SAT.",
        description=(
            "Every `/v1` route needs `Authorization: Bearer <key>` "
            "(`bookplan keys create --scope ops|hr|scheduler`). Errors share one shape: "
            "`{message, detail: [{field, message, value}]}`."
        ),
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.sync_solver = SyncSolver(settings)
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    app.state.gap_reports = GapReports(settings)
    app.state.summary_cache = SummaryCache()
    app.state.routing_cache = RoutingCache()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    api_routers = (
        book.router,
        solve.router,
        plans.router,
        gaps.router,
        audit.router,
        schedule.router,
        handoffs.router,
        recommendations.router,
    )
    for router in api_routers:
        app.include_router(router, responses=API_ERRORS)  # type: ignore[arg-type]
    app.add_middleware(NulGuardMiddleware)
    # Added last, so it runs first: a request without a valid key is answered before any body is read.
    app.add_middleware(AuthBeforeBodyMiddleware, routes=[r for router in api_routers for r in router.routes])
    if settings.trusted_proxy_list():
        # Outermost: only a trusted proxy's X-Forwarded-* set the scheme and client every later layer sees.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list())
    # Pages for people (app/pages: sign-in, book, plans, gaps, audit; left out of the OpenAPI document)
    # and their stylesheet and script.
    from fastapi.staticfiles import StaticFiles

    from app import pages
    from app.pages import deciding

    app.include_router(deciding.router)  # before pages.router: /plans/compare is not a plan id
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
