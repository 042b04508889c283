"""The stored book: replace, read, summary, single accounts and CSMs; failures leave it as it was."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import Api, small_book


def test_put_then_get_returns_the_same_book(api: Api) -> None:
    book = small_book()
    answer = api.put("/v1/book", json=book)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revision": 1, "accounts": 6, "csms": 2, "pairs": 0}
    stored = api.get("/v1/book").json()
    assert [a["id"] for a in stored["accounts"]] == [a["id"] for a in book["accounts"]]
    assert stored["accounts"][0]["current_csm"] == "c-lee"
    assert stored["csms"][0]["capacity_hours"] == 440
    assert stored["policy"]["as_of"] == "2026-11-22"


def test_a_bad_book_is_rejected_naming_field_and_value_and_leaves_the_stored_book_alone(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    before = api.get("/v1/book").json()
    bad = copy.deepcopy(small_book(accounts=10))
    bad["accounts"][3]["arr"] = -5
    answer = api.put("/v1/book", json=bad)
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"][0]["field"] == "accounts[3].arr"
    assert body["detail"][0]["value"] == -5
    assert "accounts[3].arr" in body["message"]
    assert api.get("/v1/book").json() == before


def test_a_book_naming_an_unknown_csm_is_rejected_with_the_field(api: Api) -> None:
    bad = small_book()
    bad["accounts"][2]["current_csm"] = "c-nobody"
    answer = api.put("/v1/book", json=bad)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "accounts[2].current_csm"
    assert "c-nobody" in answer.json()["message"]


def test_unknown_fields_are_rejected_as_typos(api: Api) -> None:
    bad: dict[str, Any] = small_book()
    bad["accounts"][0]["arrr"] = 5
    answer = api.put("/v1/book", json=bad)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "accounts[0].arrr"


def test_a_nan_in_the_body_is_named_not_a_500(api: Api) -> None:
    body = b'{"accounts": [{"id": "a", "arr": NaN, "tier": "smb"}]}'
    answer = api.put("/v1/book", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "accounts[0].arr"
    assert answer.json()["detail"][0]["value"] == "nan"


def test_a_bad_setting_is_named_by_its_environment_variable(monkeypatch: Any, capsys: Any) -> None:
    from app.cli import main

    monkeypatch.setenv("BOOKPLAN_RUNNER_CONCURRENCY", "lots")
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", "--database-url", "sqlite://"])
    assert exit_.value.code == 2
    assert "BOOKPLAN_RUNNER_CONCURRENCY" in capsys.readouterr().err


def test_malformed_json_is_a_422_not_a_500(api: Api) -> None:
    answer = api.put("/v1/book", content=b'{"accounts": [', headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["message"]


def test_summary_counts_accounts_and_arr_by_tier_for_hr(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    summary = api.get("/v1/book/summary", scope="hr").json()
    assert summary["accounts"] == 6
    assert summary["csms"] == 2
    assert summary["arr"] == sum(100_000 + i * 1000 for i in range(6))
    assert summary["tiers"] == [
        {"tier": "enterprise", "label": "Enterprise", "accounts": 6, "arr": summary["arr"]}
    ]
    assert summary["revision"] == 1


def test_single_account_crud_bumps_the_revision_and_is_audited(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    new = {"id": "zeta", "arr": 5000, "tier": "enterprise", "current_csm": "c-dana"}
    created = api.put("/v1/book/accounts/zeta", json=new)
    assert created.status_code == 201, created.text
    updated = api.put("/v1/book/accounts/zeta", json={**new, "arr": 6000})
    assert updated.status_code == 200
    assert api.get("/v1/book/accounts/zeta").json()["arr"] == 6000
    listing = api.get("/v1/book/accounts", params={"csm": "c-dana"}).json()
    assert [a["id"] for a in listing["items"]] == ["zeta"]
    assert api.delete("/v1/book/accounts/zeta").json() == {"revision": 4}
    assert api.get("/v1/book/accounts/zeta").status_code == 404
    actions = [e["action"] for e in api.get("/v1/audit").json()["items"]]
    assert actions[:3] == ["account_deleted", "account_updated", "account_created"]


def test_an_account_cannot_name_a_csm_that_does_not_exist(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = api.put("/v1/book/accounts/x", json={"id": "x", "arr": 1, "tier": "smb", "current_csm": "ghost"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0] == {
        "field": "current_csm",
        "message": "current_csm: unknown CSM 'ghost'",
        "value": "ghost",
    }


def test_a_csm_with_accounts_cannot_be_deleted(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = api.delete("/v1/book/csms/c-lee")
    assert answer.status_code == 409
    assert "'a0'" in answer.json()["message"]
    assert api.delete("/v1/book/csms/c-dana").status_code == 200
    assert api.get("/v1/book/csms").json()["total"] == 1


def test_a_body_over_the_limit_gets_413(make_api: Any) -> None:
    api = make_api(max_body_bytes=2048)
    answer = api.put("/v1/book", json=small_book(accounts=40))
    assert answer.status_code == 413
    assert "limit" in answer.json()["message"]
