"""Plan jobs end to end: queue, run in a child process, follow progress, approve onto the book, audit."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import update

from app.models import PlanJob


def _plan(api: Api, body: dict[str, Any] | None = None, **kwargs: Any) -> str:
    answer = api.post("/v1/plans", json=body if body is not None else {}, **kwargs)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == answer.json()["url"]
    return str(answer.json()["id"])


def test_a_plan_job_runs_and_approving_it_moves_the_accounts_with_an_audit_event_each(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    job = api.wait_for(plan_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    assert job["plan"]["status"] in ("optimal", "feasible")
    moves = job["plan"]["moves"]
    assert moves, "an overloaded CSM next to an idle one must give moves"
    assert job["requested_by"] == "test-ops"
    assert job["book_revision"] == 1
    assert job["progress"]["elapsed_seconds"] >= 0
    assert job["input_sha256"] == job["plan"]["solver"]["input_sha256"]

    approved = api.post(f"/v1/plans/{plan_id}/approve", json={"note": "QBR season rebalance"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["applied_moves"] == len(moves)
    assert approved.json()["book_revision"] == 2

    book = {a["id"]: a["current_csm"] for a in api.get("/v1/book").json()["accounts"]}
    for move in moves:
        assert book[move["account"]] == move["to"]
    events = api.get("/v1/audit", params={"plan_id": plan_id, "action": "account_moved"}).json()["items"]
    assert sorted((e["account"], e["from_csm"], e["to_csm"]) for e in events) == sorted(
        (m["account"], m["from"], m["to"]) for m in moves
    )
    assert all(e["actor"] == "test-ops" and e["reason"] and e["at"] for e in events)

    again = api.post(f"/v1/plans/{plan_id}/approve")
    assert again.status_code == 409
    assert "already approved" in again.json()["message"]


def test_approving_a_plan_gives_accounts_without_a_csm_the_csm_the_plan_chose(api: Api) -> None:
    book = small_book(accounts=4)
    book["accounts"].append({"id": "new-1", "arr": 60_000, "tier": "enterprise", "region": "NA"})
    api.put("/v1/book", json=book)
    plan_id = _plan(api)
    job = api.wait_for(plan_id, ("succeeded", "failed"))
    chosen = {a["account"]: a["csm"] for a in job["plan"]["assignments"]}
    assert "new-1" in chosen and all(m["account"] != "new-1" for m in job["plan"]["moves"])

    approved = api.post(f"/v1/plans/{plan_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["applied_assignments"] == 1
    stored = {a["id"]: a["current_csm"] for a in api.get("/v1/book").json()["accounts"]}
    assert stored["new-1"] == chosen["new-1"]
    events = api.get("/v1/audit", params={"plan_id": plan_id, "action": "account_assigned"}).json()["items"]
    assert [(e["account"], e["from_csm"], e["to_csm"]) for e in events] == [("new-1", None, chosen["new-1"])]


def test_approving_a_plan_on_a_changed_book_is_409_naming_the_change_and_applies_nothing(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    assert api.wait_for(plan_id, ("succeeded", "failed"))["status"] == "succeeded"
    account = api.get("/v1/book/accounts/a1").json()
    api.put("/v1/book/accounts/a1", json={**account, "arr": 999_999})
    api.put("/v1/book/csms/c-new", json={"id": "c-new", "tiers": ["smb"]})
    before = api.get("/v1/book").json()

    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409
    body = answer.json()
    assert "1 account edited" in body["message"] and "1 CSM added" in body["message"]
    assert body["changes"]["accounts_edited"] == {"count": 1, "ids": ["a1"]}
    assert api.get("/v1/book").json() == before


def test_a_plan_of_an_identical_rewrite_of_the_book_is_not_stale(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    assert api.wait_for(plan_id, ("succeeded", "failed"))["status"] == "succeeded"
    api.put("/v1/book", json=small_book())  # same content, new revision
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 200


def test_policy_overrides_apply_to_one_plan_only(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api, {"policy": {"max_moves": 0}})
    job = api.wait_for(plan_id, ("succeeded", "failed"))
    assert job["policy_overrides"] == {"max_moves": 0}
    assert job["plan"]["moves"] == []
    assert (
        "max_moves" not in api.get("/v1/book").json()["policy"]
        or api.get("/v1/book").json()["policy"]["max_moves"] is None
    )


def test_an_empty_stored_book_cannot_be_planned(api: Api) -> None:
    answer = api.post("/v1/plans", json={})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "accounts"


def test_a_missing_plan_is_404_not_500(api: Api) -> None:
    assert api.get("/v1/plans/nope").status_code == 404
    assert api.delete("/v1/plans/nope").status_code == 404
    assert api.post("/v1/plans/nope/approve").status_code == 404


def test_the_history_is_paginated_newest_first(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)  # jobs stay queued: this test is about the listing
    api.put("/v1/book", json=small_book())
    ids = [_plan(api) for _ in range(3)]
    page = api.get("/v1/plans", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [p["id"] for p in page["items"]] == ids[::-1][:2]
    rest = api.get("/v1/plans", params={"limit": 2, "offset": 2}).json()
    assert [p["id"] for p in rest["items"]] == [ids[0]]
    assert api.get("/v1/plans", params={"limit": 501}).status_code == 422


# The child-process behaviours below do not depend on the database: SQLite only, to keep the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_cancelling_a_running_plan_stops_its_solver_within_five_seconds(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:slow")
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    pid = _running_pid(api, plan_id)
    running = api.get(f"/v1/plans/{plan_id}").json()
    assert running["status"] == "running" and running["progress"]["elapsed_seconds"] >= 0

    started = time.monotonic()
    answer = api.delete(f"/v1/plans/{plan_id}")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    while _alive(pid):
        assert time.monotonic() - started < 5, "the solver process outlived the cancel by 5 s"
        time.sleep(0.05)
    assert api.get(f"/v1/plans/{plan_id}").json()["status"] == "cancelled"
    assert api.delete(f"/v1/plans/{plan_id}").status_code == 409


@SQLITE_ONLY
def test_a_solver_killed_mid_solve_fails_the_job_with_the_reason_and_the_service_answers(
    make_api: Any,
) -> None:
    api = make_api(solve_function="bookplan_test_solvers:slow")
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    pid = _running_pid(api, plan_id)
    os.kill(pid, signal.SIGKILL)
    job = api.wait_for(plan_id, ("failed", "succeeded"), timeout=10)
    assert job["status"] == "failed"
    assert "SIGKILL" in job["error"]
    assert api.get("/healthz").status_code == 200
    assert api.get("/v1/book/summary").json()["accounts"] == 6


@SQLITE_ONLY
def test_a_solver_that_crashes_fails_its_job(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:crash")
    api.put("/v1/book", json=small_book())
    job = api.wait_for(_plan(api), ("failed", "succeeded"), timeout=30)
    assert job["status"] == "failed" and "exited with code 70" in job["error"]


@SQLITE_ONLY
def test_a_solver_overrunning_its_time_limit_is_killed_at_the_hard_deadline(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:overrun", job_hard_deadline_grace_seconds=1)
    api.put("/v1/book", json=small_book(time_limit_seconds=1))
    job = api.wait_for(_plan(api), ("failed", "succeeded"), timeout=30)
    assert job["status"] == "failed" and "hard deadline" in job["error"]


def test_a_restart_runs_queued_jobs_and_reruns_interrupted_ones(make_api: Any) -> None:
    stopped = make_api(runner_concurrency=0)
    stopped.put("/v1/book", json=small_book())
    queued = _plan(stopped)
    interrupted = _plan(stopped)
    with stopped.db.writing() as session:  # as if the service died while solving it
        session.execute(update(PlanJob).where(PlanJob.id == interrupted).values(status="running", attempts=1))
    exhausted = _plan(stopped)
    with stopped.db.writing() as session:
        session.execute(update(PlanJob).where(PlanJob.id == exhausted).values(status="running", attempts=2))
    stopped.client.__exit__(None, None, None)

    restarted = make_api()
    assert restarted.wait_for(queued, ("succeeded", "failed"))["status"] == "succeeded"
    rerun = restarted.wait_for(interrupted, ("succeeded", "failed"))
    assert rerun["status"] == "succeeded" and rerun["attempts"] == 2
    failed = restarted.get(f"/v1/plans/{exhausted}").json()
    assert failed["status"] == "failed" and "service stopped" in failed["error"]


def _running_pid(api: Api, plan_id: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with api.db.session() as session:
            job = session.get(PlanJob, plan_id)
            assert job is not None
            if job.status == "running" and job.worker_pid and job.progress:
                return job.worker_pid
        time.sleep(0.05)
    raise AssertionError("the job never started running")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0 until reaped; the runner joins it, so check its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


pytestmark = pytest.mark.timeout(120)


def test_a_queued_plan_cancels_at_once_and_an_unfinished_plan_cannot_be_approved(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = _plan(api)
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 409
    answer = api.delete(f"/v1/plans/{plan_id}")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert answer.json()["error"] == "cancelled by test-ops"
    assert "cancelled" in api.post(f"/v1/plans/{plan_id}/approve").json()["message"]


def test_a_post_without_a_body_plans_the_stored_book(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    answer = api.post("/v1/plans", scope="scheduler")
    assert answer.status_code == 202, answer.text
    job = api.get(answer.json()["url"], scope="scheduler").json()
    assert job["source"] == "stored" and job["requested_by"] == "test-scheduler" and job["accounts"] == 6


def test_a_progress_write_that_cannot_get_the_database_does_not_fail_the_job(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by bench/load_test.py: under a burst of edits SQLite's lock outlasted the busy timeout and the
    job failed on a progress write; progress is now retried, the plan still lands."""
    from sqlalchemy.exc import OperationalError

    from app.runner.inprocess import InProcessRunner

    original = InProcessRunner._update

    def locked(self: InProcessRunner, job_id: str, **values: Any) -> None:
        if "progress" in values:
            raise OperationalError("UPDATE plan_job", {}, Exception("database is locked"))
        original(self, job_id, **values)

    monkeypatch.setattr(InProcessRunner, "_update", locked)
    monkeypatch.setattr("app.runner.inprocess.PROGRESS_WRITE_SECONDS", 0.0)
    api = make_api()
    api.put("/v1/book", json=small_book(accounts=6))
    plan_id = _plan(api)
    job = api.wait_for(plan_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded", job


def test_a_segment_override_the_book_cannot_use_is_a_422_not_a_failed_job(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = api.post("/v1/plans", json={"policy": {"tiers": {"platinum": {"label": "P"}}}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "policy.tiers.platinum"
    assert "needs hours_per_year or activities" in answer.text
