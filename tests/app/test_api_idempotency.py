"""Idempotency keys on POST /v1/plans and POST /v1/solve: a retry gets the same job, never a second one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conftest import Api, small_book
from sqlalchemy import func, select

from app.models import PlanJob


def test_same_key_and_body_give_the_same_job_and_another_body_is_422(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    headers = {"Idempotency-Key": "nightly-2026-11-22"}
    first = api.post("/v1/plans", json={"policy": {"max_moves": 3}}, headers=headers)
    second = api.post("/v1/plans", json={"policy": {"max_moves": 3}}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    other = api.post("/v1/plans", json={"policy": {"max_moves": 4}}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    # Another API key's use of the same text is its own request: it neither reads this job back nor is
    # blocked by it (the keys used to be global).
    theirs = api.post("/v1/plans", json={"policy": {"max_moves": 4}}, headers=headers, scope="scheduler")
    assert theirs.status_code == 202, theirs.text
    assert theirs.json()["id"] != first.json()["id"]
    again = api.post("/v1/plans", json={"policy": {"max_moves": 4}}, headers=headers, scope="scheduler")
    assert again.json()["id"] == theirs.json()["id"]


def test_twenty_parallel_posts_with_one_key_create_one_job(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())

    def post(_: int) -> Any:
        return api.post("/v1/plans", json={}, headers={"Idempotency-Key": "retry-storm"}, scope="scheduler")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers if a.status_code != 202]
    assert len({a.json()["id"] for a in answers}) == 1
    with api.db.session() as session:
        assert session.execute(select(func.count()).select_from(PlanJob)).scalar_one() == 1


def test_a_synchronous_solve_returns_a_plan_and_a_retry_with_its_key_returns_the_same_one(api: Api) -> None:
    headers = {"Idempotency-Key": "solve-1"}
    first = api.post("/v1/solve", json=small_book(), headers=headers)
    assert first.status_code == 200, first.text
    plan = first.json()
    assert plan["status"] in ("optimal", "feasible")
    assert {a["account"] for a in plan["assignments"]} == {f"a{i}" for i in range(6)}
    again = api.post("/v1/solve", json=small_book(), headers=headers)
    assert again.json() == plan
    changed = api.post("/v1/solve", json=small_book(accounts=5), headers=headers)
    assert changed.status_code == 422


def test_a_book_too_large_for_a_synchronous_solve_gets_413_pointing_to_plan_jobs(make_api: Any) -> None:
    api = make_api(sync_solve_max_accounts=5)
    answer = api.post("/v1/solve", json=small_book(accounts=6))
    assert answer.status_code == 413
    assert "/v1/plans" in answer.json()["message"]
