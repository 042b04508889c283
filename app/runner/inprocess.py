"""The embedded runner: threads in the service process claim queued jobs, each solved in a child process.

The threads only wait on pipes and write rows; the solving happens in the children, which the threads kill
on cancel or when the hard deadline (time limit + grace) passes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.core.db import Database
from app.models import PlanJob, PlanMove, utcnow
from app.runner.child import SolveProcess
from app.runner.frontier_child import FRONTIER_TARGET
from app.services.frontier import store_point
from app.services.snapshots import input_book_text, job_input_columns

log = logging.getLogger("bookplan.runner")
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]
PROGRESS_WRITE_SECONDS = 0.5
CANCEL_CHECK_SECONDS = 0.5


class InProcessRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ JobRunner

    def start(self) -> None:
        self.recover()
        self._stopping.clear()
        for i in range(self.settings.runner_concurrency):
            thread = threading.Thread(target=self._loop, name=f"bookplan-runner-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def enqueue(self, job_id: str) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            self._cancelled.add(job_id)

    # ------------------------------------------------------------ recovery

    def recover(self) -> None:
        """Jobs left `running` by a stopped service are re-run, or failed once out of attempts."""
        now = utcnow()
        max_attempts = self.settings.job_max_attempts
        with self.db.writing() as session:
            session.execute(
                update(_JOBS)
                .where(_JOBS.c.status == "running", _JOBS.c.cancel_requested.is_(True))
                .values(status="cancelled", finished_at=now, worker_pid=None)
            )
            requeued = session.execute(
                update(_JOBS)
                .where(_JOBS.c.status == "running", _JOBS.c.attempts < max_attempts)
                .values(
                    status="queued",
                    worker_pid=None,
                    progress=None,
                    error="re-queued: the service stopped while this job was running",
                )
            ).rowcount  # type: ignore[attr-defined]
            failed = session.execute(
                update(_JOBS)
                .where(_JOBS.c.status == "running")
                .values(
                    status="failed",
                    finished_at=now,
                    worker_pid=None,
                    error=(
                        f"the service stopped while this job was running, {max_attempts} times "
                        f"(the limit): not retried"
                    ),
                )
            ).rowcount  # type: ignore[attr-defined]
        if requeued or failed:
            log.warning("recovered jobs left running: %d re-queued, %d failed", requeued, failed)

    # ------------------------------------------------------------ the loop

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._claim()
            except Exception:  # a database hiccup must not kill the runner thread
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.wait(self.settings.runner_poll_seconds)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception as exc:
                log.exception("job %s failed in the runner", job["id"])
                self._finish(job["id"], status="failed", error=f"internal error in the runner: {exc}")

    def _claim(self) -> dict[str, Any] | None:
        with self.db.writing() as session:
            row = session.execute(
                select(_JOBS.c.id).where(_JOBS.c.status == "queued").order_by(_JOBS.c.created_at).limit(1)
            ).first()
            if row is None:
                return None
            claimed = session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == row[0], _JOBS.c.status == "queued")
                .values(status="running", started_at=utcnow(), attempts=_JOBS.c.attempts + 1, error=None)
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                return None
            job = session.execute(
                select(_JOBS.c.id, _JOBS.c.time_limit_seconds, *job_input_columns(), _JOBS.c.kind).where(
                    _JOBS.c.id == row[0]
                )
            ).one()
            claimed_job = dict(job._mapping)
            claimed_job["input_book"] = input_book_text(session, claimed_job)
        return claimed_job

    def _is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            if job_id in self._cancelled:
                return True
        with self.db.session() as session:
            flag = session.execute(select(_JOBS.c.cancel_requested).where(_JOBS.c.id == job_id)).scalar()
        return bool(flag)

    def _run(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        time_limit = float(job["time_limit_seconds"])
        hard_deadline = time_limit + self.settings.job_hard_deadline_grace_seconds
        target = FRONTIER_TARGET if job.get("kind") == "frontier" else self.settings.solve_function
        child = SolveProcess(target, job["input_book"], time_limit, self.settings.cp_sat_workers)
        self._update(job_id, worker_pid=child.pid)
        last_write = last_cancel_check = 0.0
        pending_progress: dict[str, Any] | None = None
        try:
            while True:
                now = time.monotonic()
                if now - last_cancel_check >= CANCEL_CHECK_SECONDS:
                    last_cancel_check = now
                    if self._stopping.is_set():
                        # Left `running`: the next start re-queues it (a restart loses nothing).
                        child.stop(self.settings.cancel_grace_seconds)
                        return
                    if self._is_cancelled(job_id):
                        child.stop(self.settings.cancel_grace_seconds)
                        self._finish(job_id, status="cancelled", error=None, only_if_running=False)
                        return
                if now - child.started > hard_deadline:
                    child.kill_now()
                    child.stop(0)
                    self._finish(
                        job_id,
                        status="failed",
                        error=(
                            f"the solve overran its hard deadline ({time_limit:g} s time limit + "
                            f"{self.settings.job_hard_deadline_grace_seconds:g} s grace) and was killed"
                        ),
                    )
                    return
                message = child.receive(0.2)
                if message is not None and message[0] == "progress":
                    pending_progress = message[1]
                elif message is not None and message[0] == "point":
                    store_point(self.db, job_id, *message[1:])
                elif message is not None and message[0] == "plan":
                    self._succeed(job_id, str(message[1]), message[2])
                    return
                elif message is not None and message[0] == "error":
                    self._finish(job_id, status="failed", error=f"the solve failed: {message[1]}")
                    return
                elif message is not None:  # ("exit",): the child died without a word
                    self._finish(job_id, status="failed", error=f"{child.exit_reason()} before finishing")
                    return
                if pending_progress is not None and time.monotonic() - last_write >= PROGRESS_WRITE_SECONDS:
                    if self._write_progress(job_id, pending_progress):
                        pending_progress = None
                    last_write = time.monotonic()
        finally:
            child.stop(self.settings.cancel_grace_seconds)
            with self._lock:
                self._cancelled.discard(job_id)

    # ------------------------------------------------------------ writes

    def _write_progress(self, job_id: str, progress: dict[str, Any]) -> bool:
        """Progress is a courtesy to followers: a write that cannot get the database (SQLite's lock held
        past its busy timeout by a burst of edits) is retried at the next interval, never fails the job."""
        try:
            self._update(job_id, progress=progress)
        except OperationalError as exc:
            log.warning("progress of job %s not written this time: %s", job_id, exc.orig)
            return False
        return True

    def _update(self, job_id: str, **values: Any) -> None:
        with self.db.writing() as session:
            session.execute(
                update(_JOBS).where(_JOBS.c.id == job_id, _JOBS.c.status == "running").values(**values)
            )

    def _finish(self, job_id: str, *, status: str, error: str | None, only_if_running: bool = True) -> None:
        query = update(_JOBS).where(_JOBS.c.id == job_id)
        if only_if_running:
            query = query.where(_JOBS.c.status == "running")
        with self.db.writing() as session:
            session.execute(query.values(status=status, error=error, finished_at=utcnow(), worker_pid=None))

    def _succeed(self, job_id: str, plan_json: str, summary: dict[str, Any]) -> None:
        moves = [{"plan_id": job_id, "seq": i, **move} for i, move in enumerate(summary["moves"])]
        progress = {
            "phase": "done",
            "max_utilization": summary["max_utilization"],
            "max_utilization_bound": summary["max_utilization_bound"],
            "moves": len(moves),
            "unassigned": summary["unassigned"],
        }
        plan_status = summary["status"]
        with self.db.writing() as session:
            done = session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job_id, _JOBS.c.status == "running")
                .values(
                    status="succeeded",
                    plan=plan_json,
                    plan_status=plan_status,
                    progress=progress,
                    finished_at=utcnow(),
                    worker_pid=None,
                )
            ).rowcount  # type: ignore[attr-defined]
            if done and moves:
                session.execute(insert(_MOVES), moves)
        log.info("job %s succeeded: %s, %d moves", job_id, plan_status, len(moves))
