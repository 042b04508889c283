"""The service when things go wrong: a solve that overruns, crashes, raises or finds every slot busy, a
database whose migrations are behind, and an API key answered from the cache after it was revoked."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import event, text

from app.services.keys import revoke_key

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.timeout(120)]


def test_a_synchronous_solve_that_overruns_is_killed_at_its_hard_deadline_with_a_503(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:overrun", job_hard_deadline_grace_seconds=1)
    started = time.monotonic()
    answer = api.post("/v1/solve", json=small_book(time_limit_seconds=1))
    assert answer.status_code == 503, answer.text
    assert "hard deadline" in answer.json()["message"]
    assert time.monotonic() - started < 30
    assert api.get("/healthz").status_code == 200


def test_a_synchronous_solve_whose_process_dies_is_a_503_naming_the_exit(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:crash")
    answer = api.post("/v1/solve", json=small_book())
    assert answer.status_code == 503, answer.text
    assert "exited with code 70" in answer.json()["message"]


def test_a_synchronous_solve_that_raises_is_a_503_with_the_error_and_not_a_500(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:raises")
    answer = api.post("/v1/solve", json=small_book())
    assert answer.status_code == 503, answer.text
    assert "RuntimeError: model of 6 accounts has no variable for c-lee" in answer.json()["message"]


def test_a_synchronous_solve_with_every_slot_busy_is_refused_at_once(make_api: Any) -> None:
    api = make_api(
        solve_function="bookplan_test_solvers:overrun",
        sync_solve_concurrency=1,
        job_hard_deadline_grace_seconds=3,
    )
    first: dict[str, Any] = {}
    holder = threading.Thread(
        target=lambda: first.update(answer=api.post("/v1/solve", json=small_book(time_limit_seconds=1)))
    )
    holder.start()
    time.sleep(1.0)  # the first solve holds the only slot until its hard deadline (1 s + 3 s)
    assert holder.is_alive()
    started = time.monotonic()
    busy = api.post("/v1/solve", json=small_book())
    assert busy.status_code == 503, busy.text
    assert "synchronous solve slots are busy" in busy.json()["message"]
    assert time.monotonic() - started < 2, "a busy service must refuse at once, not queue"
    holder.join(30)
    assert first["answer"].status_code == 503 and "hard deadline" in first["answer"].json()["message"]
    # The slot is free again once the overrunning solve was killed: the next one is not refused as busy.
    again = api.post("/v1/solve", json=small_book(time_limit_seconds=1))
    assert "hard deadline" in again.json()["message"]


def test_a_plan_job_whose_solver_raises_fails_with_the_error(make_api: Any) -> None:
    api = make_api(solve_function="bookplan_test_solvers:raises")
    api.put("/v1/book", json=small_book())
    plan_id = api.post("/v1/plans", json={}).json()["id"]
    job = api.wait_for(plan_id, ("failed", "succeeded"), timeout=30)
    assert job["status"] == "failed"
    assert job["error"] == "the solve failed: RuntimeError: model of 6 accounts has no variable for c-lee"
    assert job["plan"] is None
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 409


def test_readyz_answers_503_while_migrations_are_pending_and_healthz_still_200(api: Api) -> None:
    assert api.get("/readyz", scope=None).status_code == 200
    with api.db.writing() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'not-a-revision'"))
    answer = api.get("/readyz", scope=None)
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["database"] == "migrations pending"
    assert api.get("/healthz", scope=None).status_code == 200


def test_readyz_answers_503_when_the_database_does_not_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.api.routes import health

    def unreachable(engine: Any) -> str:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(health, "check_migrated", unreachable)
    answer = api.get("/readyz", scope=None)
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "detail": "ConnectionRefusedError",
    }


def key_lookups(api: Api) -> list[str]:
    """Every SQL statement that reads the api_key table, as it runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM api_key" in statement:
            statements.append(statement)

    event.listen(api.db.engine, "before_cursor_execute", record)
    return statements


def test_the_api_key_cache_answers_repeats_without_reading_the_database(make_api: Any) -> None:
    api = make_api(api_key_cache_seconds=600)
    lookups = key_lookups(api)
    for _ in range(5):
        assert api.get("/v1/book/summary").status_code == 200
    assert len(lookups) == 1
    for _ in range(3):
        assert (
            api.get("/v1/book/summary", headers={"Authorization": "Bearer wrong"}, scope=None).status_code
            == 401
        )
    assert len(lookups) == 2, "an unknown key is remembered as unknown too"


def test_a_revoked_key_works_until_its_cache_entry_expires_and_not_after(make_api: Any) -> None:
    api = make_api(api_key_cache_seconds=1)
    assert api.get("/v1/book/summary", scope="hr").status_code == 200
    with api.db.session() as session:
        revoke_key(session, "test-hr")
    # The cache bounds how long a revoked key keeps working (KeyCache); the database was not asked.
    assert api.get("/v1/book/summary", scope="hr").status_code == 200
    time.sleep(1.5)
    assert api.get("/v1/book/summary", scope="hr").status_code == 401


def test_with_the_cache_off_a_revoked_key_is_refused_at_once(make_api: Any) -> None:
    api = make_api(api_key_cache_seconds=0)
    assert api.get("/v1/book/summary", scope="hr").status_code == 200
    with api.db.session() as session:
        revoke_key(session, "test-hr")
    assert api.get("/v1/book/summary", scope="hr").status_code == 401
