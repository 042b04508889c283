"""CSV of real exports through the API: European and US numbers (each asserting the stored amount),
encodings and separators, segments by label and alias, owners by id, email, CRM user id or name, every
error of a file in one answer, nothing stored from a bad file, and an export that imports back the same."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from conftest import AS_OF, Api

CSV = {"Content-Type": "text/csv"}
SEGMENTS = {
    "corporate": {"hours_per_year": 44.5, "label": "Corporate Accounts", "aliases": ["CORP", "Corp."]}
}


def base_book(**policy: Any) -> dict[str, Any]:
    return {
        "accounts": [],
        "csms": [
            {
                "id": "c-dana",
                "name": "Dana Whitfield",
                "email": "dana@example.com",
                "crm_user_id": "0055e000001DanaAAA",
                "tiers": ["enterprise", "smb", "corporate"],
            },
            {
                "id": "c-lee",
                "name": "Lee Okafor",
                "email": "lee@example.com",
                "crm_user_id": "0055e000001LeeOAAA",
                "tiers": ["enterprise", "smb", "corporate"],
            },
            {"id": "c-sam1", "name": "Sam", "tiers": ["smb"]},
            {"id": "c-sam2", "name": "Sam", "tiers": ["smb"]},
        ],
        "policy": {"as_of": AS_OF, "tiers": SEGMENTS, **policy},
    }


def put_csv(api: Api, kind: str, body: bytes | str) -> Any:
    data = body.encode() if isinstance(body, str) else body
    return api.put(f"/v1/book/{kind}.csv", content=data, headers=CSV)


def stored_arr(api: Api) -> dict[str, float]:
    return {a["id"]: a["arr"] for a in api.get("/v1/book").json()["accounts"]}


def test_a_european_semicolon_export_stores_decimal_comma_and_thousands_dot_amounts(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    text = "Account ID;ARR;Segment\nA1;120.000,50;Enterprise\nA2;1 500,00;SMB\nA3;€ 2.500;smb\nA4;1.250.000 EUR;enterprise\n"
    answer = put_csv(api, "accounts", text)
    assert answer.status_code == 200, answer.text
    assert stored_arr(api) == {"A1": 120000.5, "A2": 1500.0, "A3": 2500.0, "A4": 1250000.0}


def test_a_us_export_stores_thousands_comma_amounts_with_currency_signs_and_codes(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    text = 'Account ID,ARR,Segment\nA1,"$1,500.00",SMB\nA2,"USD 85,500",Enterprise\nA3,120000,Enterprise\nA4,"1,250,000",enterprise\n'
    answer = put_csv(api, "accounts", text)
    assert answer.status_code == 200, answer.text
    assert stored_arr(api) == {"A1": 1500.0, "A2": 85500.0, "A3": 120000.0, "A4": 1250000.0}


def test_an_amount_that_reads_two_ways_is_an_error_naming_row_column_and_value_and_nothing_is_stored(
    api: Api,
) -> None:
    api.put("/v1/book", json=base_book())
    before = api.get("/v1/book").json()
    answer = put_csv(api, "accounts", "Account ID;ARR;Segment\nA1;1.500,00;SMB\nA2;1,500;SMB\n")
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert (problem["row"], problem["column"], problem["value"]) == (3, "ARR", "1,500")
    assert "could be 1500 or 1.5; write 1.500 for 1500, or 1,5 for 1.5" in problem["expected"]
    assert api.get("/v1/book").json() == before


def test_windows_1252_and_utf8_with_bom_and_tab_separated_files_are_read(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    latin = "Account ID;Account Name;ARR;Segment\nA1;Tomás Café;€ 1.000,50;SMB\n".encode("cp1252")
    assert put_csv(api, "accounts", latin).status_code == 200
    assert api.get("/v1/book").json()["accounts"][0] == {
        **api.get("/v1/book").json()["accounts"][0],
        "name": "Tomás Café",
        "arr": 1000.5,
    }
    bom = "Account ID,ARR,Segment\nB1,99,SMB\n".encode("utf-8-sig")
    assert put_csv(api, "accounts", bom).status_code == 200 and stored_arr(api) == {"B1": 99.0}
    tabbed = "Account ID\tARR\tSegment\nC1\t1,500.25\tSMB\n"
    assert put_csv(api, "accounts", tabbed).status_code == 200 and stored_arr(api) == {"C1": 1500.25}


def test_segment_values_match_the_books_labels_and_aliases_in_any_case(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    text = "Account ID,ARR,Segment\nA1,1,corp\nA2,1,CORPORATE ACCOUNTS\nA3,1,Corp.\nA4,1,corporate\nA5,1,Enterprise\n"
    answer = put_csv(api, "accounts", text)
    assert answer.status_code == 200, answer.text
    tiers = [a["tier"] for a in api.get("/v1/book").json()["accounts"]]
    assert tiers == ["corporate"] * 4 + ["enterprise"]


def test_the_owner_column_finds_a_csm_by_id_email_crm_user_id_or_name(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    text = (
        "Account ID,ARR,Segment,Account Owner\n"
        "A1,1,SMB,c-lee\nA2,1,SMB,DANA@example.com\nA3,1,SMB,0055e000001LeeOAAA\nA4,1,SMB,dana whitfield\n"
    )
    answer = put_csv(api, "accounts", text)
    assert answer.status_code == 200, answer.text
    owners = [a["current_csm"] for a in api.get("/v1/book").json()["accounts"]]
    assert owners == ["c-lee", "c-dana", "c-lee", "c-dana"]


def test_an_unknown_or_ambiguous_owner_is_an_error_naming_the_row_and_the_value(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    answer = put_csv(
        api, "accounts", "Account ID,ARR,Segment,Owner\nA1,1,SMB,Sam\nA2,1,SMB,nobody@example.com\n"
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [(d["row"], d["column"], d["value"]) for d in detail] == [
        (2, "Owner", "Sam"),
        (3, "Owner", "nobody@example.com"),
    ]
    assert "c-sam1, c-sam2" in detail[0]["expected"] and "none matches" in detail[1]["expected"]


def test_every_bad_cell_of_a_file_is_reported_in_one_answer_and_nothing_is_imported(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    before = api.get("/v1/book").json()
    text = (
        "Account ID,ARR,Segment,Owner,Renewal Date,Health\n"
        "A1,12x00,SMB,c-lee,2027-01-01,green\n"
        "A2,100,Platinum,c-lee,2027-01-01,green\n"
        "A3,100,SMB,c-lee,someday,purple\n"
        "A4,100,SMB,c-lee,2027-01-01,red\n"
        "A5,-3,SMB,c-lee,2027-01-01,red\n"
    )
    answer = put_csv(api, "accounts", text)
    assert answer.status_code == 422
    body = answer.json()
    got = [(d["row"], d["column"], d["value"]) for d in body["detail"]]
    assert got == [
        (2, "ARR", "12x00"),
        (3, "Segment", "Platinum"),
        (4, "Renewal Date", "someday"),
        (4, "Health", "purple"),
        (6, "ARR", "-3"),
    ]
    assert all(d["expected"] for d in body["detail"])
    assert "Corporate Accounts" in body["detail"][1]["expected"]
    assert (
        body["message"].startswith("row 2, column 'ARR': '12x00' is not valid")
        and "4 more problems" in body["message"]
    )
    assert api.get("/v1/book").json() == before


def test_at_most_a_hundred_problems_are_listed_and_the_message_counts_them_all(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    text = "Account ID,ARR,Segment\n" + "".join(f"A{i},lots,SMB\n" for i in range(130))
    body = put_csv(api, "accounts", text).json()
    assert len(body["detail"]) == 100 and "129 more problems" in body["message"]


def test_blank_or_padded_ids_are_refused_in_json_and_csv(api: Api) -> None:
    book = base_book()
    book["accounts"] = [{"id": "   ", "arr": 1, "tier": "smb"}]
    answer = api.put("/v1/book", json=book)
    assert answer.status_code == 422 and "accounts[0].id" in answer.json()["message"]
    padded = api.put("/v1/book/accounts/x%20", json={"id": "x ", "arr": 1, "tier": "smb"})
    assert padded.status_code == 422
    api.put("/v1/book", json=base_book())
    blank = put_csv(api, "accounts", 'Account ID,Account Name,ARR,Segment\n"  ",Acme,1,SMB\n')
    assert blank.status_code == 422
    assert [(d["row"], d["column"]) for d in blank.json()["detail"]] == [(2, "Account ID")]
    csm = put_csv(api, "csms", 'id,name,tiers\n" ",Dana,smb\n')
    assert csm.status_code == 422 and csm.json()["detail"][0]["column"] == "id"


def test_a_crm_export_of_csms_keeps_email_and_crm_user_id(api: Api) -> None:
    api.put("/v1/book", json={"accounts": [], "csms": [], "policy": {"as_of": AS_OF}})
    text = "Full Name;Email;Salesforce User ID;Segments;FTE\nAnke Bauer;anke@example.com;0055e000001AnkeAAA;Enterprise, SMB;80 %\n"
    answer = put_csv(api, "csms", text)
    assert answer.status_code == 200, answer.text
    [csm] = api.get("/v1/book").json()["csms"]
    assert csm == {
        **csm,
        "id": "anke@example.com",
        "email": "anke@example.com",
        "crm_user_id": "0055e000001AnkeAAA",
        "tiers": ["enterprise", "smb"],
        "fte": 0.8,
    }


def every_field_book() -> dict[str, Any]:
    book = base_book(health_hours={"red": 1.5})
    book["csms"] = [
        {
            "id": "c-1",
            "name": '=HYPERLINK("http://evil.example","click")',
            "level": "senior_csm",
            "tiers": ["corporate", "enterprise"],
            "fte": 0.8,
            "capacity_hours": 1234.5,
            "arr_cap": 2500000.5,
            "max_accounts": 25,
            "regions": ["North America, East", "EU;West", 'the "core"'],
            "languages": ["en", "fr"],
            "accepting_new": False,
            "start_date": "2020-01-15",
            "end_date": "2027-03-31",
            "email": "c1@example.com",
            "crm_user_id": "0055e000001C1xxAAA",
        },
        {"id": "-5", "tiers": ["enterprise"], "regions": [], "languages": ["@en"]},
    ]
    book["accounts"] = [
        {
            "id": "0015e00001AcmeAAA",
            "name": "+1 Corp ",
            "arr": 120000.5,
            "tier": "corporate",
            "hours_per_year": 12.125,
            "region": "NA; East, 2",
            "language": "en",
            "current_csm": "c-1",
            "pinned": True,
            "renewal_date": "2027-06-30",
            "start_date": "2024-02-29",
            "parent_id": "=p-1",
            "health": "red",
            "health_score": 42.5,
            "previous_csm": "-5",
            "handoff_on": "2026-12-01",
        },
        {"id": "@x", "arr": 0, "tier": "enterprise", "current_csm": "-5", "name": "-5"},
        {"id": "plain", "arr": 1e-05, "tier": "enterprise", "name": "'=quoted", "health_score": 0},
    ]
    return book


def test_export_then_import_gives_back_the_same_book_on_every_field(api: Api) -> None:
    assert api.put("/v1/book", json=every_field_book()).status_code == 200
    before = api.get("/v1/book").json()
    accounts, csms = api.get("/v1/book/accounts.csv").text, api.get("/v1/book/csms.csv").text
    assert put_csv(api, "csms", csms).status_code == 200
    answer = put_csv(api, "accounts", accounts)
    assert answer.status_code == 200, answer.text
    after = api.get("/v1/book").json()
    assert after == before
    fields = {k for a in before["accounts"] for k in a} | {k for c in before["csms"] for k in c}
    assert {
        "health",
        "health_score",
        "previous_csm",
        "handoff_on",
        "email",
        "crm_user_id",
        "regions",
    } <= fields


def test_exported_cells_that_a_spreadsheet_would_run_are_neutralised(api: Api) -> None:
    api.put("/v1/book", json=every_field_book())
    for kind in ("accounts", "csms"):
        rows = list(csv.reader(io.StringIO(api.get(f"/v1/book/{kind}.csv").text)))
        for row in rows[1:]:
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    assert cell == "-5", (kind, cell)  # a plain number cannot run
    text = api.get("/v1/book/csms.csv").text
    assert "'=HYPERLINK(" in text and "'@en" in text


@pytest.mark.parametrize("neutralised", ["'=1+2", "'+cmd", "'@SUM(1)"])
def test_an_imported_neutralised_cell_is_restored(api: Api, neutralised: str) -> None:
    api.put("/v1/book", json=base_book())
    assert (
        put_csv(api, "accounts", f"Account ID,Account Name,ARR,Segment\nA1,{neutralised},1,SMB\n").status_code
        == 200
    )
    assert api.get("/v1/book").json()["accounts"][0]["name"] == neutralised[1:]


def test_a_blank_required_cell_and_a_row_too_long_are_named_in_words(api: Api) -> None:
    api.put("/v1/book", json=base_book())
    answer = put_csv(api, "accounts", "Account ID,ARR,Segment\nA1,,SMB\nA2,1,SMB,extra\n")
    assert answer.status_code == 422
    assert [d["message"] for d in answer.json()["detail"]] == [
        "row 2, column 'ARR': blank, but a value is required",
        "row 3, column '(whole row)': 4 cells but the header has 3 columns",
    ]
