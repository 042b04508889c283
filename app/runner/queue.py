"""procrastinate on PostgreSQL: the App, the plan-solving task, and deferring that task in the transaction
that writes the plan row (so a plan is never queued without its job, nor a job without its plan).

procrastinate claims jobs with row locks, records worker heartbeats, and keeps one job per plan with its
`lock` (never two runs of a plan at once) and `queueing_lock` (never two queued). Its tables are created by
`bookplan migrate` (migration 0002 applies procrastinate's schema).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from sqlalchemy import text
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import Database

log = logging.getLogger("bookplan.worker")

QUEUE = "plans"
TASK_NAME = "bookplan.solve_plan"


def conninfo(database_url: str) -> str:
    """The libpq URL procrastinate's psycopg pool wants (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def make_app(database_url: str, pool_size: int = 4) -> App:
    app = App(
        connector=PsycopgConnector(conninfo=conninfo(database_url), min_size=1, max_size=max(4, pool_size))
    )
    # A task that raises did not get as far as the plan row (the solve loop turns every failure into a
    # failed plan): a database hiccup while claiming, worth one more try a little later.
    retry = RetryStrategy(max_attempts=2, wait=5)
    app.task(name=TASK_NAME, queue=QUEUE, pass_context=True, retry=retry)(solve_plan)
    return app


def defer_in_transaction(session: Session, plan_id: str) -> int:
    """Queue the solve of `plan_id` through procrastinate's own SQL function, on the session's connection:
    it commits or rolls back with the plan row."""
    job_id = session.execute(
        text(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, :qlock, "
            "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
        ),
        {
            "queue": QUEUE,
            "task": TASK_NAME,
            "lock": plan_id,
            "qlock": plan_id,
            "args": json.dumps({"plan_id": plan_id}),
        },
    ).scalar_one()
    return int(job_id)


def cancel_jobs_of(db: Database, plan_id: str) -> int:
    """A queued job is cancelled outright; a running one is flagged for abort (its worker also sees the
    plan row cancelled within half a second and stops the solve)."""
    with db.writing() as session:
        rows = session.execute(
            text(
                "SELECT procrastinate_cancel_job_v1(id, true, false) FROM procrastinate_jobs "
                "WHERE lock = :plan_id AND status IN ('todo', 'doing')"
            ),
            {"plan_id": plan_id},
        ).all()
    return len(rows)


# ---------------------------------------------------------------- the task


@dataclass
class WorkerState:
    """What the task needs in a worker process; set by `bookplan worker` before the worker starts."""

    db: Database
    settings: Settings


_state: WorkerState | None = None


def set_worker_state(state: WorkerState | None) -> None:
    global _state
    _state = state


def solve_plan(context: JobContext, plan_id: str) -> None:
    """Solve one plan job in a child process (in a worker thread: procrastinate runs sync tasks so)."""
    from app.runner.distributed import run_plan_job

    if _state is None:
        raise RuntimeError("solve_plan runs in `bookplan worker` (no worker state was set)")
    run_plan_job(_state.db, _state.settings, plan_id, should_abort=context.should_abort)
