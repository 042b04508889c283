"""Optimistic concurrency: the book's revision as `ETag`, `If-Match` on every book write (412 when stale),
and an approval racing a book write on both databases ends consistent, with no 5xx."""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

from conftest import Api, small_book

CSV = {"Content-Type": "text/csv"}
# A few rounds keep `make test` quick; BOOKPLAN_RACE_ROUNDS=50 runs the fifty per database.
RACE_ROUNDS = int(os.environ.get("BOOKPLAN_RACE_ROUNDS", "3"))


def _etag(answer: Any) -> str:
    return str(answer.headers["ETag"])


def test_every_book_read_and_write_carries_the_revision_as_its_etag(api: Api) -> None:
    put = api.put("/v1/book", json=small_book())
    assert _etag(put) == '"1"'
    for path in (
        "/v1/book",
        "/v1/book/summary",
        "/v1/book/accounts",
        "/v1/book/accounts/a1",
        "/v1/book/csms",
        "/v1/book/csms/c-lee",
        "/v1/book/accounts.csv",
        "/v1/book/csms.csv",
    ):
        assert _etag(api.get(path)) == '"1"', path
    account = api.get("/v1/book/accounts/a1").json()
    edited = api.put("/v1/book/accounts/a1", json={**account, "arr": 5}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert _etag(edited) == '"2"'
    assert _etag(api.get("/v1/book")) == '"2"'


def test_a_book_write_with_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    stale = _etag(api.get("/v1/book"))
    account = api.get("/v1/book/accounts/a1").json()
    assert api.put("/v1/book/accounts/a1", json={**account, "arr": 1}).status_code == 200  # revision 2
    before = api.get("/v1/book").json()
    csv_text = api.get("/v1/book/accounts.csv").text
    csm = api.get("/v1/book/csms/c-dana").json()
    writes = [
        ("PUT", "/v1/book", {"json": small_book(accounts=3)}),
        ("PUT", "/v1/book/accounts/a2", {"json": {**account, "id": "a2", "arr": 7}}),
        ("DELETE", "/v1/book/accounts/a2", {}),
        ("PUT", "/v1/book/csms/c-dana", {"json": {**csm, "fte": 0.5}}),
        ("PUT", "/v1/book/policy", {"json": {"as_of": "2026-01-01"}}),
        ("PUT", "/v1/book/accounts.csv", {"content": csv_text.encode(), "headers": CSV}),
    ]
    for method, path, kwargs in writes:
        headers = {**kwargs.pop("headers", {}), "If-Match": stale}
        answer = api.request(method, path, headers=headers, **kwargs)
        assert answer.status_code == 412, (method, path, answer.text)
        assert answer.json()["detail"][0]["field"] == "If-Match"
        assert "revision 2" in answer.json()["message"]
        assert _etag(answer) == '"2"'
    assert api.get("/v1/book").json() == before
    fresh = api.put("/v1/book/accounts.csv", content=csv_text.encode(), headers={**CSV, "If-Match": '"2"'})
    assert fresh.status_code == 200, fresh.text


def test_an_if_match_that_is_not_a_revision_is_422_naming_the_header(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = api.put("/v1/book", json=small_book(), headers={"If-Match": '"abc"'})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "If-Match"
    assert api.put("/v1/book", json=small_book(), headers={"If-Match": "*"}).status_code == 200


def _race(api: Api, calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Fire the calls at once from threads (a barrier lines them up) and return their answers."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int, method: str, path: str, kwargs: dict[str, Any]) -> None:
        barrier.wait()
        answers[index] = api.request(method, path, **kwargs)

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _solved_plan(api: Api) -> dict[str, Any]:
    started = api.post("/v1/plans", json={})
    assert started.status_code == 202, started.text
    job = api.wait_for(started.json()["id"], ("succeeded", "failed"))
    assert job["status"] == "succeeded" and job["plan"]["moves"], job
    return job


def _owners(api: Api) -> dict[str, str | None]:
    return {a["id"]: a["current_csm"] for a in api.get("/v1/book").json()["accounts"]}


def test_an_approval_racing_a_put_from_an_earlier_read_never_loses_the_moves(api: Api) -> None:
    """The lost update of the issue: both used to answer 200 and the approved moves vanished."""
    for round_ in range(RACE_ROUNDS):
        book = small_book(accounts=6)
        api.put("/v1/book", json=book)
        job = _solved_plan(api)
        read = api.get("/v1/book")
        edited = copy.deepcopy(read.json())
        edited["accounts"][0]["name"] = f"Renamed in round {round_}"
        approve, put = _race(
            api,
            [
                ("POST", f"/v1/plans/{job['id']}/approve", {}),
                ("PUT", "/v1/book", {"json": edited, "headers": {"If-Match": _etag(read)}}),
            ],
        )
        statuses = (approve.status_code, put.status_code)
        assert statuses in ((200, 412), (409, 200)), (round_, approve.text, put.text)
        owners = _owners(api)
        moved = api.get("/v1/audit", params={"plan_id": job["id"], "action": "account_moved"}).json()
        if approve.status_code == 200:
            assert all(owners[m["account"]] == m["to"] for m in job["plan"]["moves"])
            assert sorted(e["account"] for e in moved["items"]) == sorted(
                m["account"] for m in job["plan"]["moves"]
            )
        else:
            assert owners == {a["id"]: a["current_csm"] for a in edited["accounts"]}
            assert moved["total"] == 0


def test_an_approval_racing_unconditional_book_writes_never_deadlocks_into_a_5xx(api: Api) -> None:
    """PostgreSQL answered 500 (DeadlockDetected on `account`) when approve and replace locked in opposite
    orders; a write without If-Match is last-writer-wins, recorded in the audit log in commit order."""
    for round_ in range(RACE_ROUNDS):
        api.put("/v1/book", json=small_book(accounts=6))
        job = _solved_plan(api)
        edited = api.get("/v1/book").json()
        account = dict(edited["accounts"][1], name=f"edited {round_}")
        answers = _race(
            api,
            [
                ("POST", f"/v1/plans/{job['id']}/approve", {}),
                ("PUT", "/v1/book", {"json": edited}),
                ("PUT", "/v1/book/accounts/a1", {"json": account}),
            ],
        )
        assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
        assert answers[0].status_code in (200, 409)
        # The audit log, in order, explains the stored owners: the last replace, then later moves.
        events = api.get("/v1/audit", params={"limit": 500}).json()["items"][::-1]
        last_replace = max(i for i, e in enumerate(events) if e["action"] == "book_replaced")
        expected = {a["id"]: a["current_csm"] for a in edited["accounts"]}
        for event in events[last_replace + 1 :]:
            if event["action"] == "account_moved":
                expected[event["account"]] = event["to_csm"]
            elif event["action"] == "account_updated":
                expected[event["account"]] = event["detail"]["after"]["current_csm"]
        assert _owners(api) == expected


def test_sqlite_writers_queue_in_turn_and_a_failed_write_frees_the_queue(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """Writers of one process wait on a lock of their own before BEGIN IMMEDIATE (SQLite's busy handler
    let a poller starve past its timeout under the load test); a write that fails must release it."""
    from sqlalchemy import text

    from app.core import db as db_module

    monkeypatch.setattr(db_module, "WRITE_QUEUE_TIMEOUT_SECONDS", 1.0)
    database = db_module.Database(f"sqlite:///{tmp_path / 'queue.db'}")
    try:
        with database.writing() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
        try:
            with database.writing() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("a write that fails")
        except RuntimeError:
            pass
        done: list[int] = []

        def write(n: int) -> None:
            with database.writing() as session:
                session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            done.append(n)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(done) == list(range(20))
        with database.session() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 20
    finally:
        database.dispose()
