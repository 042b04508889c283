"""CSV import and export of accounts and CSMs, with the column names of CRM exports; all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Api, small_book

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CSV = {"Content-Type": "text/csv"}


def _import(api: Api, kind: str, text: str | bytes) -> object:
    return api.put(
        f"/v1/book/{kind}.csv", content=text.encode() if isinstance(text, str) else text, headers=CSV
    )


def test_a_crm_export_of_csms_then_accounts_becomes_the_stored_book(api: Api) -> None:
    policy = json.loads((FIXTURES / "crm_policy.json").read_text())
    assert api.put("/v1/book", json={"accounts": [], "policy": policy}).status_code == 200
    csms = api.put("/v1/book/csms.csv", content=(FIXTURES / "crm_csms.csv").read_bytes(), headers=CSV)
    assert csms.status_code == 200, csms.text
    assert csms.json()["rows"] == 6 and csms.json()["ignored_columns"] == ["Manager", "Slack Handle"]
    accounts = api.put(
        "/v1/book/accounts.csv", content=(FIXTURES / "crm_accounts.csv").read_bytes(), headers=CSV
    )
    assert accounts.status_code == 200, accounts.text
    assert accounts.json()["columns"]["Account Owner Email"] == "current_csm"
    assert accounts.json()["ignored_columns"] == ["Industry", "Last Activity"]
    book = api.get("/v1/book").json()
    tomas = next(c for c in book["csms"] if c["name"] == "Tomás Herrera")
    assert tomas == {
        **tomas,
        "id": "tomas.herrera@example.com",
        "email": "tomas.herrera@example.com",
        "tiers": ["commercial"],
        "fte": 0.8,
        "languages": ["en", "es"],
        "level": "csm",
    }
    assert len(tomas["crm_user_id"]) == 18


def test_the_four_usual_crm_columns_are_enough(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    text = "Account Name,ARR,Segment,Owner\nAcme Corp,120000,Enterprise,Dana\nGlobex Ltd,90000,enterprise,c-lee\n"
    answer = _import(api, "accounts", text)
    assert answer.status_code == 200, answer.text
    accounts = api.get("/v1/book").json()["accounts"]
    assert [(a["id"], a["current_csm"]) for a in accounts] == [
        ("acme-corp", "c-dana"),
        ("globex-ltd", "c-lee"),
    ]


def test_a_bad_cell_is_rejected_naming_row_and_column_and_the_book_is_unchanged(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    before = api.get("/v1/book").json()
    text = "Account Name,ARR,Segment,Owner\nAcme,120000,Enterprise,Dana\nGlobex,12x00,Enterprise,Dana\n"
    answer = _import(api, "accounts", text)
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("row 3, column 'ARR': '12x00' is not valid")
    assert answer.json()["detail"][0]["field"] == "ARR" and answer.json()["detail"][0]["value"] == "12x00"
    assert api.get("/v1/book").json() == before


def test_an_unknown_owner_or_segment_names_the_row(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    owner = _import(api, "accounts", "Account Name,ARR,Segment,Owner\nAcme,1,Enterprise,Nobody\n")
    assert owner.status_code == 422 and "row 2, column 'Owner'" in owner.json()["message"]
    segment = _import(api, "accounts", "Account Name,ARR,Segment\nAcme,1,Platinum\n")
    assert segment.status_code == 422 and "row 2, column 'Segment'" in segment.json()["message"]
    missing = _import(api, "accounts", "Account Name,Segment\nAcme,SMB\n")
    assert missing.status_code == 422 and "'arr'" in missing.json()["message"]


def test_duplicate_accounts_in_a_csv_name_both_rows(api: Api) -> None:
    answer = _import(api, "accounts", "Account ID,ARR,Segment\nx,1,SMB\ny,2,SMB\nx,3,SMB\n")
    assert answer.status_code == 422
    assert "row 4" in answer.json()["message"] and "row 2" in answer.json()["message"]


def test_importing_csms_that_drop_an_owner_is_refused(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = _import(api, "csms", "id,tiers\nc-dana,enterprise\n")
    assert answer.status_code == 422 and "c-lee" in answer.json()["message"]


def test_export_then_import_gives_the_same_accounts(api: Api) -> None:
    book = small_book()
    book["accounts"][0].update(pinned=True, renewal_date="2027-01-31", parent_id="holding")
    api.put("/v1/book", json=book)
    before = api.get("/v1/book").json()
    exported = api.get("/v1/book/accounts.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert _import(api, "accounts", exported.text).status_code == 200  # type: ignore[attr-defined]
    csms = api.get("/v1/book/csms.csv").text
    assert _import(api, "csms", csms).status_code == 200  # type: ignore[attr-defined]
    assert api.get("/v1/book").json() == before


def test_a_non_csv_content_type_is_422(api: Api) -> None:
    answer = api.put("/v1/book/accounts.csv", json={"a": 1})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "Content-Type"
