"""Distributed workers benchmark: plan jobs through procrastinate on PostgreSQL, solved by `bookplan worker`.

Measures, on a fresh PostgreSQL database (created and dropped here):
- throughput: `--jobs` plan jobs (default 100) on 1,000-account rebalance books, all queued first, then
  solved by 1 and by 2 workers (one solve at a time each, one CP-SAT worker per solve): wall time from the
  workers' start to the last result, jobs per hour, jobs per hour per core;
- latency from submit to start under load: jobs arrive one by one at 80 % of what 2 workers can solve
  (the 2-worker throughput run sets the pace), and at 10 % (dispatch latency alone); p50/p95/max of the
  plan rows' `started_at - created_at`.
Jobs are queued the way the API queues them (`create_plan_job` with the distributed runner: plan row and
queue job in one transaction).

Usage: uv run python -m bench.workers_bench [--jobs 100] [--accounts 1000] [--latency-jobs 30] [-o out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN = os.environ.get("BOOKPLAN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKER_ENV = {
    "BOOKPLAN_CP_SAT_WORKERS": "1",
    "BOOKPLAN_WORKER_HEARTBEAT_SECONDS": "2",
    "BOOKPLAN_WORKER_STALL_SECONDS": "10",
    "BOOKPLAN_TICK_SECONDS": "2",
    "BOOKPLAN_SOLVE_TIME_LIMIT_SECONDS": "30",
    # As measured in bench/README.md: solves started by the fork server (workers default to spawn, which
    # adds 1.5-3 s of interpreter start to every job and would dominate 1,000-account solves).
    "BOOKPLAN_CHILD_START_METHOD": "forkserver",
}


def _books(n_accounts: int, count: int) -> list[Any]:
    from bench.books import generate_rebalance_book

    # A handful of distinct books, reused round-robin: generating 100 would time the generator.
    return [generate_rebalance_book(n_accounts, seed=seed) for seed in range(min(count, 5))]


def _submit(db: Any, settings: Any, book: Any) -> str:
    from app.models import PlanRequest
    from app.runner.distributed import DistributedRunner
    from app.services.keys import Principal
    from app.services.plans import create_plan_job

    principal = Principal(key_id=0, name="bench", scopes=frozenset({"ops"}))
    created, _ = create_plan_job(
        db, DistributedRunner(db, settings), settings, PlanRequest(book=book), principal, None
    )
    return created.id


def _start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, **WORKER_ENV, "DATABASE_URL": url}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_registered(db: Any, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.session() as session:
            if session.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one() >= count:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{count} workers did not start within 60 s")


def _wait_done(db: Any, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
            left = session.execute(
                text(
                    "SELECT count(*) FROM plan_job WHERE id = ANY(:ids) AND status IN ('queued', 'running')"
                ),
                {"ids": ids},
            ).scalar_one()
        if left == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"jobs still unfinished after {timeout:g} s")


def _rows(db: Any, ids: list[str]) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(
            text(
                "SELECT status, attempts, created_at, started_at, finished_at FROM plan_job WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
    return [dict(r._mapping) for r in rows]


def _reset(db: Any) -> None:
    with db.writing() as session:
        session.execute(
            text("TRUNCATE plan_move, plan_job, procrastinate_jobs, procrastinate_workers CASCADE")
        )


def throughput(db: Any, settings: Any, url: str, books: list[Any], jobs: int, workers: int) -> dict[str, Any]:
    _reset(db)
    ids = [_submit(db, settings, books[i % len(books)]) for i in range(jobs)]
    procs = _start_workers(url, workers)
    try:
        _wait_registered(db, workers)
        started = time.monotonic()
        _wait_done(db, ids, timeout=3600)
        wall = time.monotonic() - started
    finally:
        _stop(procs)
    rows = _rows(db, ids)
    solve = [(r["finished_at"] - r["started_at"]).total_seconds() for r in rows]
    return {
        "workers": workers,
        "jobs": jobs,
        "succeeded": sum(r["status"] == "succeeded" for r in rows),
        "runs_beyond_one": sum(r["attempts"] - 1 for r in rows),
        "wall_seconds": round(wall, 2),
        "jobs_per_hour": round(jobs / wall * 3600),
        "jobs_per_hour_per_core": round(jobs / wall * 3600 / workers),
        "solve_seconds_mean": round(statistics.mean(solve), 3),
    }


def latency(
    db: Any, settings: Any, url: str, books: list[Any], jobs: int, seconds_per_job: float, load: float
) -> dict[str, Any]:
    _reset(db)
    procs = _start_workers(url, 2)
    try:
        _wait_registered(db, 2)
        interval = seconds_per_job / load
        ids = []
        for i in range(jobs):
            ids.append(_submit(db, settings, books[i % len(books)]))
            time.sleep(interval)
        _wait_done(db, ids, timeout=600)
    finally:
        _stop(procs)
    waits = sorted((r["started_at"] - r["created_at"]).total_seconds() * 1000 for r in _rows(db, ids))
    return {
        "workers": 2,
        "jobs": jobs,
        "load": load,
        "arrival_interval_seconds": round(interval, 3),
        "submit_to_start_ms_p50": round(statistics.median(waits), 1),
        "submit_to_start_ms_p95": round(waits[max(0, int(len(waits) * 0.95) - 1)], 1),
        "submit_to_start_ms_max": round(waits[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=30)
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)

    from app.core.config import Settings
    from app.core.db import Database, migrate

    name = f"bookplan_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        settings = Settings(database_url=url, runner="procrastinate", cp_sat_workers=1)
        db = Database(url)
        books = _books(args.accounts, args.jobs)
        results: dict[str, Any] = {"accounts": args.accounts, "cores": os.cpu_count(), "throughput": []}
        for workers in (1, 2):
            run = throughput(db, settings, url, books, args.jobs, workers)
            results["throughput"].append(run)
            print(json.dumps(run), flush=True)
        # What 2 workers take per job at full throughput sets the arrival pace: 80 % of capacity ("under
        # load"), and 10 % (idle workers: the dispatch latency alone).
        per_job = results["throughput"][1]["wall_seconds"] / args.jobs
        results["latency"] = [
            latency(db, settings, url, books, args.latency_jobs, per_job, load) for load in (0.8, 0.1)
        ]
        print(json.dumps(results["latency"]), flush=True)
        db.dispose()
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
