"""Approval refuses what it must: plans with no valid assignment, unfinished jobs, and books changed under it.

Jobs are put in the state under test by writing their row, so each check is seen on its own, without a solve.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import text, update

from app.models import PlanJob

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def queued_plan(api: Api, body: dict[str, Any] | None = None) -> str:
    answer = api.post("/v1/plans", json=body or {})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def finish(api: Api, plan_id: str, *, status: str = "succeeded", plan_status: str = "feasible") -> None:
    """Write the job as finished with a plan that moves nothing (a1 stays with c-lee)."""
    plan = {"status": plan_status, "assignments": [{"account": "a1", "csm": "c-lee"}], "moves": []}
    with api.db.writing() as session:
        session.execute(
            update(PlanJob)
            .where(PlanJob.id == plan_id)  # type: ignore[arg-type]
            .values(status=status, plan_status=plan_status, plan=json.dumps(plan))
        )


@SQLITE_ONLY
@pytest.mark.parametrize("plan_status", ["infeasible", "no_solution_in_time"])
def test_a_plan_without_a_valid_assignment_cannot_be_approved(make_api: Any, plan_status: str) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id, plan_status=plan_status)
    before = api.get("/v1/book").json()
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert f"is {plan_status}: there is no valid assignment" in answer.json()["message"]
    assert api.get("/v1/book").json() == before
    assert api.get(f"/v1/plans/{plan_id}").json()["approved_at"] is None


@SQLITE_ONLY
@pytest.mark.parametrize("job_status", ["failed", "cancelled", "running"])
def test_a_job_that_did_not_succeed_cannot_be_approved_even_with_a_plan_written(
    make_api: Any, job_status: str
) -> None:
    # A plan can land just before a cancel or a failure is recorded; the job's status decides.
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id, status=job_status)
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert f"is {job_status}: only a succeeded plan can be approved" in answer.json()["message"]


@SQLITE_ONLY
def test_a_succeeded_feasible_plan_on_the_unchanged_book_is_approved_once(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id)
    first = api.post(f"/v1/plans/{plan_id}/approve")
    assert first.status_code == 200, first.text
    assert first.json()["book_revision"] == 2
    again = api.post(f"/v1/plans/{plan_id}/approve")
    assert again.status_code == 409 and "already approved by test-ops" in again.json()["message"]


@SQLITE_ONLY
def test_a_plan_of_an_inline_book_that_differs_from_the_stored_one_is_stale(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    inline = small_book()
    inline["accounts"][0]["arr"] = 1
    plan_id = queued_plan(api, {"book": inline})
    finish(api, plan_id)
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert "differs from the plan's inline book" in answer.json()["message"]


@SQLITE_ONLY
def test_a_plan_only_the_scheduler_started_still_needs_an_ops_key_to_approve(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    answer = api.post("/v1/plans", json={}, scope="scheduler")
    assert answer.status_code == 202
    plan_id = answer.json()["id"]
    finish(api, plan_id)
    for scope in ("scheduler", "hr"):
        assert api.post(f"/v1/plans/{plan_id}/approve", scope=scope).status_code == 403
    assert api.post(f"/v1/plans/{plan_id}/approve", scope=None).status_code == 401
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 200


@SQLITE_ONLY
def test_a_plan_job_is_given_the_books_own_time_limit_else_the_services(make_api: Any) -> None:
    api = make_api(runner_concurrency=0, solve_time_limit_seconds=5)
    api.put("/v1/book", json=small_book(time_limit_seconds=7))
    assert api.get(f"/v1/plans/{queued_plan(api)}").json()["time_limit_seconds"] == 7
    overridden = queued_plan(api, {"policy": {"time_limit_seconds": 2}})
    assert api.get(f"/v1/plans/{overridden}").json()["time_limit_seconds"] == 2
    api.put("/v1/book", json=small_book())
    assert api.get(f"/v1/plans/{queued_plan(api)}").json()["time_limit_seconds"] == 5


@POSTGRES_ONLY
@pytest.mark.timeout(60)
def test_an_approval_waits_for_a_concurrent_edit_of_the_book_and_then_finds_its_plan_stale(
    make_api: Any,
) -> None:
    """The book row lock: an edit committed while the approval waits must make the plan stale, not be lost."""
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id)
    outcome: dict[str, Any] = {}

    editor = api.db.engine.connect()
    edit = editor.begin()
    # An edit in progress holds the book header row (a book write takes it with its revision UPDATE).
    editor.execute(text("SELECT revision FROM book_state WHERE id = 1 FOR UPDATE"))

    def approve() -> None:
        outcome["answer"] = api.post(f"/v1/plans/{plan_id}/approve")

    approver = threading.Thread(target=approve)
    approver.start()
    time.sleep(1.0)
    assert approver.is_alive(), "the approval did not wait for the book lock"
    editor.execute(text("UPDATE account SET arr = 1 WHERE id = 'a2'"))
    editor.execute(text("UPDATE book_state SET revision = revision + 1 WHERE id = 1"))
    edit.commit()
    editor.close()
    approver.join(30)
    answer = outcome["answer"]
    assert answer.status_code == 409, answer.text
    assert "1 account edited" in answer.json()["message"]
    accounts = {a["id"]: a for a in api.get("/v1/book").json()["accounts"]}
    assert accounts["a2"]["arr"] == 1
    assert api.get(f"/v1/plans/{plan_id}").json()["approved_at"] is None
