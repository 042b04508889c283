"""Plan jobs on `bookplan worker` processes through procrastinate: each job runs once, a killed worker's
job finishes elsewhere, cancellation stops a queued or running job."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from workers_helpers import Api, Workers, runs, settings_for, small_book

from app.core.db import Database
from app.models import PlanRequest
from app.runner.distributed import DistributedRunner
from app.services.keys import Principal
from app.services.plans import create_plan_job

pytestmark = pytest.mark.postgres


def _moves_stored(db: Database, plan_id: str) -> int:
    with db.session() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM plan_move WHERE plan_id = :p"), {"p": plan_id}
            ).scalar_one()
        )


def _queue_rows(db: Database) -> list[tuple[str, str, int]]:
    with db.session() as session:
        rows = session.execute(
            text("SELECT lock, status, attempts FROM procrastinate_jobs ORDER BY id")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _settle(db: Database, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while (
        any(status in ("todo", "doing") for _, status, _ in _queue_rows(db)) and time.monotonic() < deadline
    ):
        time.sleep(0.05)


def test_the_plan_row_and_its_queued_job_are_written_together(
    make_api: Callable[..., Api], db: Database
) -> None:
    api = make_api()
    answer = api.request("POST", "/v1/plans", json={"book": small_book("together")})
    assert answer.status_code == 202
    plan_id = answer.json()["id"]
    assert _queue_rows(db) == [(plan_id, "todo", 0)]

    # A transaction that fails after the job was deferred leaves neither the plan row nor the queue job.
    def fail_late(session: object, job_id: str) -> None:
        raise RuntimeError("the database went away")

    settings = settings_for(db.url)
    request = PlanRequest.model_validate({"book": small_book("rolled back")})
    principal = Principal(key_id=0, name="test", scopes=frozenset({"ops"}))
    with pytest.raises(RuntimeError):
        create_plan_job(db, DistributedRunner(db, settings), settings, request, principal, None, fail_late)
    assert _queue_rows(db) == [(plan_id, "todo", 0)]
    with db.session() as session:
        assert session.execute(text("SELECT count(*) FROM plan_job")).scalar_one() == 1


def test_two_workers_run_twenty_jobs_each_exactly_once(
    make_api: Callable[..., Api], workers: Workers, db: Database
) -> None:
    api = make_api()
    for _ in range(2):
        workers.start(concurrency=1)
    workers.wait_registered(2, db)
    ids = []
    for i in range(20):
        answer = api.request("POST", "/v1/plans", json={"book": small_book(f"job-{i}")})
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    jobs = [api.wait_for(plan_id, ("succeeded", "failed"), timeout=90) for plan_id in ids]

    assert [job["status"] for job in jobs] == ["succeeded"] * 20, [job.get("error") for job in jobs]
    assert all(job["attempts"] == 1 for job in jobs)
    lines = runs(workers.run_log)
    assert sorted(line[0] for line in lines) == sorted(f"job-{i}" for i in range(20))
    for job in jobs:
        assert _moves_stored(db, job["id"]) == len(job["plan"]["moves"]) > 0
    _settle(db)
    queue = _queue_rows(db)
    assert sorted(lock for lock, _, _ in queue) == sorted(ids)
    assert {status for _, status, _ in queue} == {"succeeded"}
    # Each worker has its own fork server, the solve children's parent: both workers solved some.
    assert len({line[1] for line in lines}) == 2


def test_a_worker_killed_mid_solve_has_its_job_finished_by_the_other(
    make_api: Callable[..., Api], workers: Workers, db: Database
) -> None:
    api = make_api()
    # Spawned solve children are the worker's own children, so the run log names the worker (parent pid).
    # A solve long enough to be still running when the second worker has registered, however slow the
    # machine is to start it (3 s let a loaded machine finish the solve before the kill).
    first = workers.start(BOOKPLAN_CHILD_START_METHOD="spawn", BOOKPLAN_TEST_SOLVE_SECONDS="60")
    workers.wait_registered(1, db)
    plan_id = api.request("POST", "/v1/plans", json={"book": small_book("killed")}).json()["id"]
    deadline = time.monotonic() + 30
    while not runs(workers.run_log):
        assert time.monotonic() < deadline, "the first worker never started the solve"
        time.sleep(0.05)
    second = workers.start(BOOKPLAN_CHILD_START_METHOD="spawn", BOOKPLAN_TEST_SOLVE_SECONDS="0")
    workers.wait_registered(2, db)
    # The machine is gone: the worker and its solve child die at once, without a word.
    os.killpg(first.pid, signal.SIGKILL)

    job = api.wait_for(plan_id, ("succeeded", "failed"), timeout=60)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert _moves_stored(db, plan_id) == len(job["plan"]["moves"]) > 0
    parents = [line[1] for line in runs(workers.run_log)]
    assert parents == [str(first.pid), str(second.pid)]
    # The plan row is written before the worker reports the queue job done.
    _settle(db)
    assert [(lock, status) for lock, status, _ in _queue_rows(db)] == [(plan_id, "succeeded")]


def test_a_job_whose_workers_keep_dying_fails_with_the_reason_after_its_attempts(
    make_api: Callable[..., Api], workers: Workers, db: Database
) -> None:
    api = make_api()
    plan_id = api.request("POST", "/v1/plans", json={"book": small_book("doomed")}).json()["id"]
    for attempt in (1, 2):
        worker = workers.start(BOOKPLAN_TEST_SOLVE_SECONDS="30")
        deadline = time.monotonic() + 30
        while len(runs(workers.run_log)) < attempt:
            assert time.monotonic() < deadline, f"attempt {attempt} never started"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
    workers.start()
    job = api.wait_for(plan_id, ("succeeded", "failed"), timeout=30)
    assert job["status"] == "failed"
    assert job["attempts"] == 2
    assert "stopped (no heartbeat) 2 times" in job["error"]
    assert _moves_stored(db, plan_id) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_cancelling_at_random_moments_ends_each_job_cancelled_within_five_seconds_without_a_result(
    make_api: Callable[..., Api], workers: Workers, db: Database
) -> None:
    api = make_api()
    workers.start(concurrency=1, BOOKPLAN_TEST_SOLVE_SECONDS="20")
    workers.wait_registered(1, db)
    rng = random.Random(5)
    ids = [
        api.request("POST", "/v1/plans", json={"book": small_book(f"c{i}")}).json()["id"] for i in range(4)
    ]
    seen_running = seen_queued = 0
    # The worker takes one at a time in order: this order cancels queued and running jobs alternately.
    for plan_id in (ids[3], ids[0], ids[2], ids[1]):
        time.sleep(rng.uniform(0.0, 1.5))
        job = api.job(plan_id)
        if job["status"] == "queued":
            seen_queued += 1
        child = None
        if job["status"] == "running":
            seen_running += 1
            deadline = time.monotonic() + 5
            while child is None and time.monotonic() < deadline:
                with db.session() as session:
                    child = session.execute(
                        text("SELECT worker_pid FROM plan_job WHERE id = :p"), {"p": plan_id}
                    ).scalar()
                time.sleep(0.05)
        started = time.monotonic()
        assert api.request("DELETE", f"/v1/plans/{plan_id}").status_code == 200
        while True:
            with db.session() as session:
                queue_status = session.execute(
                    text("SELECT status FROM procrastinate_jobs WHERE lock = :p"), {"p": plan_id}
                ).scalar()
            if queue_status not in ("todo", "doing") and (child is None or not _alive(child)):
                break
            assert time.monotonic() - started < 5, f"{plan_id}: queue {queue_status}, child {child} alive"
            time.sleep(0.05)
    assert seen_queued and seen_running  # both moments were exercised
    time.sleep(1)
    for plan_id in ids:
        job = api.job(plan_id)
        assert job["status"] == "cancelled" and job["plan"] is None
        assert _moves_stored(db, plan_id) == 0


def test_a_worker_runs_as_many_solves_at_once_as_its_concurrency_and_no_more(
    make_api: Callable[..., Api], workers: Workers, db: Database
) -> None:
    api = make_api()
    workers.start(concurrency=2, BOOKPLAN_TEST_SOLVE_SECONDS="1")
    workers.wait_registered(1, db)
    ids = [
        api.request("POST", "/v1/plans", json={"book": small_book(f"p{i}")}).json()["id"] for i in range(5)
    ]
    most = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.session() as session:
            running, left = session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE status = 'running'), "
                    "count(*) FILTER (WHERE status IN ('queued', 'running')) FROM plan_job"
                )
            ).one()
        most = max(most, running)
        if left == 0:
            break
        time.sleep(0.02)
    assert most == 2
    assert all(api.job(plan_id)["status"] == "succeeded" for plan_id in ids)


def test_the_default_concurrency_is_the_cores_divided_by_the_cp_sat_workers_per_solve() -> None:
    cores = os.cpu_count() or 1
    assert settings_for("postgresql://x/y", cp_sat_workers=1).effective_worker_concurrency() == cores
    assert settings_for("postgresql://x/y", cp_sat_workers=64).effective_worker_concurrency() == 1
    assert settings_for("postgresql://x/y", worker_concurrency=3).effective_worker_concurrency() == 3
