"""Helpers of the distributed-runner tests (a module of its own name: tests/app has a conftest too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import Database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AS_OF = "2026-11-22"
TABLES = (
    "plan_move",
    "audit_event",
    "idempotency_key",
    "plan_job",
    "book_snapshot",
    "page_session",
    "account",
    "csm",
    "api_key",
    "schedule_run",
    "webhook_delivery",
    "handoff_notice",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
FAST = {
    "BOOKPLAN_WORKER_HEARTBEAT_SECONDS": "0.3",
    "BOOKPLAN_WORKER_STALL_SECONDS": "1.5",
    "BOOKPLAN_TICK_SECONDS": "0.3",
    "BOOKPLAN_CP_SAT_WORKERS": "1",
    "BOOKPLAN_SOLVE_TIME_LIMIT_SECONDS": "5",
    "BOOKPLAN_JOB_HARD_DEADLINE_GRACE_SECONDS": "10",
    "BOOKPLAN_CANCEL_GRACE_SECONDS": "1",
    "BOOKPLAN_SOLVE_FUNCTION": "workers_test_solvers:recorded",
}


class Workers:
    """`bookplan worker` subprocesses on the test database; all are killed when the test ends."""

    def __init__(self, url: str, run_log: Path) -> None:
        self.url = url
        self.run_log = run_log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 1, **env: str) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            **FAST,
            "DATABASE_URL": self.url,
            "BOOKPLAN_TEST_RUN_LOG": str(self.run_log),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
            # Workers spawn their solves by default; these tests use the fork server for speed, and the
            # SIGKILL test asks for spawn explicitly, so both start methods are exercised.
            # (`make coverage` asks for spawn: coverage follows spawned children, not the fork server's.)
            "BOOKPLAN_CHILD_START_METHOD": os.environ.get("BOOKPLAN_CHILD_START_METHOD", "forkserver"),
            **env,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def wait_registered(self, count: int, db: Database, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with db.session() as session:
                n = session.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()
            if n >= count:
                return
            for proc in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"a worker exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                    )
            time.sleep(0.1)
        raise AssertionError(f"{count} workers did not register within {timeout} s")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                # The whole process group: the worker and its solve children.
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stderr:
                proc.stderr.close()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "runner": "procrastinate",
        "api_key_cache_seconds": 0,
        "tick_seconds": 0.3,
        "cp_sat_workers": 1,
        "solve_time_limit_seconds": 5,
        "solve_function": "workers_test_solvers:recorded",
        # These tests queue many jobs with one key; the per-key quota has its own test (tests/app).
        "max_active_jobs_per_key": 0,
        **overrides,
    }
    return Settings(**values)


class Api:
    def __init__(self, client: TestClient, key: str, db: Database) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}
        self.db = db

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers, **kwargs)

    def job(self, plan_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/plans/{plan_id}").json()  # type: ignore[no-any-return]

    def wait_for(self, plan_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(plan_id)
            if job["status"] in statuses:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"plan {plan_id} still {job['status']} after {timeout} s: {job}")
            time.sleep(0.05)


def small_book(marker: str = "book", accounts: int = 6) -> dict[str, Any]:
    """Two enterprise CSMs in NA, one overloaded; `marker` names the first account, so a run is traceable."""
    return {
        "accounts": [
            {
                "id": f"a{i}",
                "name": marker if i == 0 else f"Account {i}",
                "arr": 100_000 + i * 1000,
                "tier": "enterprise",
                "region": "NA",
                "current_csm": "c-lee",
            }
            for i in range(accounts)
        ],
        "csms": [
            {
                "id": "c-dana",
                "name": "Dana",
                "tiers": ["enterprise"],
                "regions": ["NA"],
                "capacity_hours": 440,
            },
            {"id": "c-lee", "name": "Lee", "tiers": ["enterprise"], "regions": ["NA"], "capacity_hours": 440},
        ],
        "policy": {"as_of": AS_OF},
    }


def runs(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split() for line in log.read_text().splitlines() if line.strip()]
