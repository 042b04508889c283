"""The distributed runner: plan jobs go to `bookplan worker` processes through procrastinate on PostgreSQL.

The service defers a procrastinate job in the plan row's transaction (`defer_in`); any worker, on any
machine, claims it, solves it in a child process with the in-process runner's solve loop (progress, hard
deadline, cancel) and writes the outcome once (the write only lands on a `running` row, moves included in
the same transaction). A worker that dies mid-solve stops heartbeating; another worker's maintenance loop
re-queues its job (`retry_stalled_jobs`) until `job_max_attempts` runs have started, then the plan fails with
the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import Database
from app.models import PlanJob, utcnow
from app.runner.inprocess import InProcessRunner
from app.runner.queue import cancel_jobs_of, defer_in_transaction
from app.services.snapshots import input_book_text, job_input_columns

log = logging.getLogger("bookplan.worker")
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]


class DistributedRunner:
    """`JobRunner` for the service when workers solve: enqueueing is done inside the plan's transaction."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def start(self) -> None:
        """Nothing to recover here: interrupted jobs are the workers' (heartbeats, stalled-job retry)."""

    def stop(self) -> None:
        """Nothing runs in the service."""

    def defer_in(self, session: Session, job_id: str) -> None:
        defer_in_transaction(session, job_id)

    def enqueue(self, job_id: str) -> None:
        """Already queued by `defer_in`, in the plan row's transaction."""

    def cancel(self, job_id: str) -> None:
        cancel_jobs_of(self.db, job_id)


class _WorkerSolve(InProcessRunner):
    """The in-process runner's solve loop for one claimed job, also stopping when procrastinate asks."""

    def __init__(self, db: Database, settings: Settings, should_abort: Callable[[], bool]) -> None:
        super().__init__(db, settings)
        self._should_abort = should_abort

    def _is_cancelled(self, job_id: str) -> bool:
        return self._should_abort() or super()._is_cancelled(job_id)


def claim(db: Database, settings: Settings, plan_id: str) -> dict[str, Any] | None:
    """Mark the plan running (one more attempt) and return what the solve needs; None when there is
    nothing to run (cancelled, finished) or the plan has just run out of attempts (then it is failed)."""
    max_attempts = settings.job_max_attempts
    with db.writing() as session:
        row = session.execute(
            select(_JOBS.c.status, _JOBS.c.attempts, _JOBS.c.cancel_requested)
            .where(_JOBS.c.id == plan_id)
            .with_for_update()
        ).first()
        if row is None or row.status not in ("queued", "running") or row.cancel_requested:
            return None
        if row.status == "running" and row.attempts >= max_attempts:
            # A previous run started and never finished: its worker died (the stalled-job retry sent it here).
            session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == plan_id)
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    worker_pid=None,
                    error=(
                        f"the worker running this plan stopped (no heartbeat) {row.attempts} times, "
                        f"the limit (job_max_attempts = {max_attempts}): not retried"
                    ),
                )
            )
            return None
        error = (
            None
            if row.status == "queued"
            else f"retried: the worker running attempt {row.attempts} stopped (no heartbeat)"
        )
        session.execute(
            update(_JOBS)
            .where(_JOBS.c.id == plan_id)
            .values(
                status="running",
                started_at=utcnow(),
                attempts=_JOBS.c.attempts + 1,
                error=error,
                progress=None,
                worker_pid=None,
            )
        )
        job = session.execute(
            select(_JOBS.c.id, _JOBS.c.time_limit_seconds, *job_input_columns(), _JOBS.c.kind).where(
                _JOBS.c.id == plan_id
            )
        ).one()
        claimed_job = dict(job._mapping)
        claimed_job["input_book"] = input_book_text(session, claimed_job)
    return claimed_job


def run_plan_job(
    db: Database, settings: Settings, plan_id: str, should_abort: Callable[[], bool] = lambda: False
) -> None:
    job = claim(db, settings, plan_id)
    if job is None:
        return
    solve = _WorkerSolve(db, settings, should_abort)
    try:
        solve._run(job)
    except Exception as exc:
        log.exception("plan %s failed in the worker", plan_id)
        solve._finish(plan_id, status="failed", error=f"internal error in the worker: {exc}")


async def retry_stalled_jobs(app: Any, settings: Settings) -> int:
    """Re-queue the jobs of workers whose heartbeat stopped; the plan's own attempt count (checked when a
    worker claims it) bounds the retries. Any number of workers may run this at once: procrastinate's retry
    only moves a job that is still `doing`."""
    from app.runner.queue import QUEUE

    stalled = await app.job_manager.get_stalled_jobs(
        queue=QUEUE, seconds_since_heartbeat=settings.worker_stall_seconds
    )
    retried = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except Exception as exc:  # another worker retried it first
            log.debug("retrying stalled job %s: %s", job.id, exc)
            continue
        retried += 1
        log.warning("job %s (plan %s) re-queued: its worker stopped heartbeating", job.id, job.task_kwargs)
    return retried
