"""Bad input at every entry is a 4xx naming the field: ids with `/`, control characters, NUL or blank;
NUL in any string (PostgreSQL used to answer 500); offsets past any list."""

from __future__ import annotations

import copy

import pytest
from conftest import Api, small_book

CSV = {"Content-Type": "text/csv"}
BAD_IDS = ["a/b", "a\x01b", "a\x00b", "a\tb", "   ", ""]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_bad_id_in_a_json_book_is_422_naming_the_field(api: Api, bad_id: str) -> None:
    book = small_book()
    book["accounts"][2]["id"] = bad_id
    answer = api.put("/v1/book", json=book)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "accounts[2].id"
    csm_book = small_book()
    csm_book["csms"][0]["id"] = bad_id
    answer = api.put("/v1/book", json=csm_book)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "csms[0].id"


def test_bad_ids_are_refused_in_single_writes_csv_imports_and_paths(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    account = api.get("/v1/book/accounts/a1").json()
    answer = api.put("/v1/book/accounts/a1", json={**account, "parent_id": "x/y"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "parent_id"
    csv_text = "id,name,arr,tier\nok-1,Fine,1000,smb\nbad/2,Slashed,1000,smb\n"
    answer = api.put("/v1/book/accounts.csv", content=csv_text.encode(), headers=CSV)
    assert answer.status_code == 422, answer.text
    assert "row 3" in answer.json()["message"] and "/" in answer.json()["message"]
    for path in ("/v1/book/accounts/%20%20", "/v1/book/accounts/a%01", "/v1/book/csms/c%0A"):
        answer = api.get(path)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["field"] in ("account_id", "csm_id")
    assert api.get("/v1/book").json()["accounts"][1] == account


def test_a_nul_in_any_string_is_422_on_every_entry_never_a_500(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    before = api.get("/v1/book").json()
    book = copy.deepcopy(before)
    book["accounts"][0]["name"] = "Acme\x00Corp"
    answer = api.put("/v1/book", json=book)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "accounts[0].name"
    book = copy.deepcopy(before)
    book["csms"][0]["regions"] = ["N\x00A"]
    assert api.put("/v1/book", json=book).status_code == 422
    account = dict(before["accounts"][1], region="E\x00MEA")
    answer = api.put("/v1/book/accounts/a1", json=account)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "region"
    csv_text = "id,name,arr,tier\nok-1,Fi\x00ne,1000,smb\n"
    assert api.put("/v1/book/accounts.csv", content=csv_text.encode(), headers=CSV).status_code == 422
    for path, field in (
        ("/v1/audit?account=a%00", "account"),
        ("/v1/book/accounts?csm=c%00", "csm"),
        ("/v1/book/accounts/a%00", "path"),
        ("/v1/plans/x%00", "path"),
    ):
        answer = api.get(path)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["field"] == field
    started = api.post("/v1/plans", json={"note": "QBR\x00"})
    assert started.status_code == 422 and started.json()["detail"][0]["field"] == "note"
    assert api.get("/v1/book").json() == before


def test_an_offset_past_any_list_is_422_naming_it(api: Api) -> None:
    for path in ("/v1/plans", "/v1/audit", "/v1/book/accounts", "/v1/book/csms"):
        answer = api.get(path, params={"offset": "99999999999999999999"})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["field"] == "offset"


def test_a_query_parameter_given_twice_is_422_naming_it(api: Api) -> None:
    answer = api.get("/v1/plans?limit=1&limit=500")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "limit"
