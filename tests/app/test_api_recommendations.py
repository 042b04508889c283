"""POST /v1/recommendations: scopes, bad input named as PUT /v1/book names it, assign with its audit and
idempotency, and the prepared book cached per revision (a book change is seen at once)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conftest import Api, small_book

NEW = {"id": "initech", "name": "Initech", "arr": 90_000, "tier": "enterprise", "region": "NA"}


def ask(api: Api, accounts: list[dict[str, Any]], scope: str = "scheduler", **fields: Any) -> Any:
    return api.post("/v1/recommendations", json={"accounts": accounts, **fields}, scope=scope)


def test_a_scheduler_key_gets_candidates_and_exclusions_and_nothing_is_written(api: Api) -> None:
    revision = api.put("/v1/book", json=small_book()).json()["revision"]
    answer = ask(api, [NEW])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["assigned"] is False and body["book_revision"] == revision
    assert answer.headers["Server-Timing"].startswith("recommend;dur=")
    (rec,) = body["recommendations"]
    assert rec["account"] == "initech"
    (best,) = rec["candidates"]
    assert best["csm"] == "c-dana"
    assert best["utilization_after"] == 0.25  # 110 h of 440 h
    assert best["arr_after"] == 90_000
    assert "covers NA" in best["reasons"]
    assert rec["excluded"] == [
        {"rule": "capacity_hours", "csms": 1, "reason": "1 CSM: no 110 h free", "examples": ["c-lee"]}
    ]
    assert api.get("/v1/book/summary").json()["revision"] == revision


def test_a_scheduler_key_may_not_assign(api: Api) -> None:
    revision = api.put("/v1/book", json=small_book()).json()["revision"]
    answer = ask(api, [NEW], assign=True)
    assert answer.status_code == 403
    assert answer.json()["detail"][0]["field"] == "assign"
    assert api.get("/v1/book/summary").json()["revision"] == revision


def test_assign_writes_the_first_candidates_with_an_audit_event_naming_the_request_once_per_key(
    api: Api,
) -> None:
    revision = api.put("/v1/book", json=small_book()).json()["revision"]
    headers = {"Idempotency-Key": "crm-closed-won-42"}
    second_new = {**NEW, "id": "hooli", "parent_id": "hooli-group"}
    body = {"accounts": [NEW, second_new], "assign": True}
    first = api.post("/v1/recommendations", json=body, headers=headers, scope="ops")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["assigned"] is True and answer["book_revision"] == revision + 1
    # c-dana has 440 h: both 110 h accounts fit there, c-lee is over capacity already.
    assert answer["written"] == [
        {"account": "initech", "csm": "c-dana"},
        {"account": "hooli", "csm": "c-dana"},
    ]
    book = api.get("/v1/book").json()
    owners = {a["id"]: a["current_csm"] for a in book["accounts"]}
    assert owners["initech"] == owners["hooli"] == "c-dana"
    events = api.get("/v1/audit", params={"action": "account_routed"}).json()["items"]
    assert {e["account"] for e in events} == {"initech", "hooli"}
    assert all(e["detail"]["request"] == answer["request"] for e in events)
    assert all(answer["request"] in e["reason"] for e in events)
    assert all(e["book_revision"] == revision + 1 for e in events)

    again = api.post("/v1/recommendations", json=body, headers=headers, scope="ops")
    assert again.status_code == 200
    assert again.json() == answer
    assert api.get("/v1/book/summary").json()["revision"] == revision + 1
    assert api.get("/v1/audit", params={"action": "account_routed"}).json()["total"] == 2
    other = api.post("/v1/recommendations", json={**body, "top": 1}, headers=headers, scope="ops")
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    # Without the key, the same request is a new one: the accounts are in the book now.
    repeat = api.post("/v1/recommendations", json=body, scope="ops")
    assert repeat.status_code == 409


def test_an_account_already_in_the_book_is_a_409_naming_it(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = ask(api, [NEW, {**NEW, "id": "a3"}])
    assert answer.status_code == 409
    detail = answer.json()["detail"][0]
    assert detail["field"] == "accounts[1].id" and detail["value"] == "a3"
    assert "'a3' is already in the book" in answer.json()["message"]


def test_bad_accounts_are_422_naming_the_field_exactly_as_put_book_does(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    bad = {**NEW, "arr": -5}
    as_book = api.put("/v1/book", json={**small_book(), "accounts": [bad]})
    answer = ask(api, [bad])
    assert answer.status_code == as_book.status_code == 422
    assert answer.json()["detail"][0]["field"] == as_book.json()["detail"][0]["field"] == "accounts[0].arr"
    assert answer.json()["message"] == as_book.json()["message"]

    unknown = {**NEW, "id": "umbrella", "tier": "platinum"}
    as_book = api.put("/v1/book", json={**small_book(), "accounts": [unknown]})
    answer = ask(api, [NEW, unknown])
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "accounts[1].tier"
    assert as_book.json()["detail"][0]["field"] == "accounts[0].tier"
    assert "known segments: strategic" in answer.json()["message"]

    typo = ask(api, [{**NEW, "regoin": "NA"}])
    assert typo.status_code == 422 and typo.json()["detail"][0]["field"] == "accounts[0].regoin"


def test_an_empty_list_or_more_than_ten_thousand_accounts_is_a_422(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    empty = ask(api, [])
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "accounts"
    many = ask(api, [{"id": f"n{i}", "arr": 1, "tier": "smb"} for i in range(10_001)])
    assert many.status_code == 422 and many.json()["detail"][0]["field"] == "accounts"


def test_the_prepared_book_is_rebuilt_after_a_book_change_and_reused_before_it(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    cache = api.client.app.state.routing_cache  # type: ignore[attr-defined]
    assert [c["csm"] for c in ask(api, [NEW]).json()["recommendations"][0]["candidates"]] == ["c-dana"]
    ask(api, [{**NEW, "id": "other"}])
    assert cache.builds == 1  # same revision: the prepared book is reused
    # A change to the book (c-dana takes a 400 h account) must be seen by the very next request.
    put = api.put(
        "/v1/book/accounts/big",
        json={"id": "big", "arr": 1, "tier": "enterprise", "hours_per_year": 400, "current_csm": "c-dana"},
    )
    assert put.status_code == 201
    rec = ask(api, [NEW]).json()["recommendations"][0]
    assert rec["candidates"] == []
    assert {e["rule"]: e["csms"] for e in rec["excluded"]} == {"capacity_hours": 2}
    assert cache.builds == 2


def test_ten_parallel_assigns_with_one_key_write_the_account_once(api: Api) -> None:
    revision = api.put("/v1/book", json=small_book()).json()["revision"]
    body = {"accounts": [NEW], "assign": True}

    def post(_: int) -> Any:
        return api.post("/v1/recommendations", json=body, headers={"Idempotency-Key": "storm"}, scope="ops")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(10)))
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
    assert len({a.json()["request"] for a in answers}) == 1
    assert api.get("/v1/book/summary").json()["revision"] == revision + 1
    assert api.get("/v1/audit", params={"action": "account_routed"}).json()["total"] == 1
