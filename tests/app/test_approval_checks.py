"""Approval refuses what it must: plans with no valid assignment, unfinished jobs, and books changed under it.

Jobs are put in the state under test by writing their row, so each check is seen on its own, without a solve.
"""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import text, update

from app.models import AuditEvent, PlanJob
from app.services import plans as plan_service
from app.services.book import read_state

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
def test_a_plan_of_an_inline_book_is_a_scenario_and_never_approved(make_api: Any) -> None:
    # CONTRACT.md: a plan on an inline book is a scenario, even one equal to the stored book.
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api, {"book": small_book()})
    finish(api, plan_id)
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert "is a scenario" in answer.json()["message"]


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
def test_only_ops_cancels_a_plan_and_hr_cannot_start_or_read_one(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    assert api.post("/v1/plans", json={}, scope="hr").status_code == 403
    assert api.get(f"/v1/plans/{plan_id}", scope="hr").status_code == 403
    assert api.delete(f"/v1/plans/{plan_id}", scope="scheduler").status_code == 403
    assert api.delete(f"/v1/plans/{plan_id}", scope="hr").status_code == 403
    assert api.get(f"/v1/plans/{plan_id}", scope="scheduler").json()["status"] == "queued"
    assert api.delete(f"/v1/plans/{plan_id}").status_code == 200


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


@SQLITE_ONLY
def test_a_plan_on_a_stored_book_edited_since_is_stale_and_nothing_is_applied(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id)
    account = api.get("/v1/book/accounts/a3").json()
    api.put("/v1/book/accounts/a3", json={**account, "arr": 5})
    before = api.get("/v1/book").json()
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert "the stored book changed since the plan" in answer.json()["message"]
    assert answer.json()["changes"]["accounts_edited"] == {"count": 1, "ids": ["a3"]}
    assert api.get("/v1/book").json() == before


@SQLITE_ONLY
def test_a_plan_discarded_by_a_person_cannot_be_approved(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api)
    finish(api, plan_id)
    with api.db.writing() as session:
        session.add(AuditEvent(actor="pat", action="plan_discarded", plan_id=plan_id))
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 409, answer.text
    assert "was discarded by pat" in answer.json()["message"]


class MovingRevision:
    """`read_state` as seen while a writer commits `edits` times between the snapshot's two reads."""

    def __init__(self, edits: int) -> None:
        self.edits = edits
        self.calls = 0

    def __call__(self, session: Any) -> Any:
        state = read_state(session)
        self.calls += 1
        if self.calls <= self.edits:
            return SimpleNamespace(revision=state.revision + 1)
        return state


@SQLITE_ONLY
def test_a_plan_started_while_the_book_is_being_written_reads_it_again(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    moving = MovingRevision(edits=1)
    monkeypatch.setattr(plan_service, "read_state", moving)
    answer = api.post("/v1/plans", json={})
    assert answer.status_code == 202, answer.text
    assert moving.calls == 2
    assert api.get(answer.json()["url"]).json()["book_revision"] == 1


@SQLITE_ONLY
def test_a_book_that_keeps_changing_while_it_is_read_gives_409_not_a_plan_on_a_torn_book(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    monkeypatch.setattr(plan_service, "read_state", MovingRevision(edits=1_000))
    answer = api.post("/v1/plans", json={})
    assert answer.status_code == 409, answer.text
    assert "kept changing" in answer.json()["message"]
    assert api.get("/v1/plans").json()["total"] == 0


@SQLITE_ONLY
def test_a_plan_with_policy_overrides_is_not_stale_after_an_identical_rewrite_of_the_book(
    make_api: Any,
) -> None:
    # The overrides belong to the plan, not to the book: staleness compares the book's own policy.
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    plan_id = queued_plan(api, {"policy": {"max_moves": 0, "balance_tolerance": 0.2}})
    finish(api, plan_id)
    api.put("/v1/book", json=small_book())  # same content, new revision: the staleness check runs
    answer = api.post(f"/v1/plans/{plan_id}/approve")
    assert answer.status_code == 200, answer.text
    assert answer.json()["book_revision"] == 3
