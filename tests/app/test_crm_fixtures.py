"""The fixture CRM exports load as they are: the Salesforce-style US export (dirty cells and all) and the
European `;` export, each checked cell by cell against a plain reading of the file, then planned and
validated. The expected values are worked out here with nothing but `csv` and string replaces."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from conftest import Api

from solver.schema import Book, Plan
from solver.validation import assert_valid_plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CSV = {"Content-Type": "text/csv"}
SEGMENT_WORDS = {
    "commercial": "commercial",
    "corporate": "corporate",
    "corp": "corporate",
    "majors": "majors",
}


def rows(name: str, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    text = (FIXTURES / name).read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def load_team(api: Api) -> dict[str, str]:
    """Policy and CSMs from the fixtures; returns each CSM's name → id (their email)."""
    policy = json.loads((FIXTURES / "crm_policy.json").read_text())
    assert api.put("/v1/book", json={"accounts": [], "policy": policy}).status_code == 200
    answer = api.put("/v1/book/csms.csv", content=(FIXTURES / "crm_csms.csv").read_bytes(), headers=CSV)
    assert answer.status_code == 200, answer.text
    return {r["Full Name"]: r["Email"] for r in rows("crm_csms.csv")}


def planned(api: Api) -> tuple[Book, Plan]:
    book = Book.model_validate(api.get("/v1/book").json())
    answer = api.post("/v1/solve", json={**book.model_dump(mode="json", exclude_unset=True)})
    assert answer.status_code == 200, answer.text
    plan = Plan.model_validate(answer.json())
    assert_valid_plan(book, plan)
    return book, plan


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_salesforce_export_loads_as_it_is_and_is_planned(api: Api) -> None:
    names = load_team(api)
    answer = api.put(
        "/v1/book/accounts.csv", content=(FIXTURES / "crm_accounts.csv").read_bytes(), headers=CSV
    )
    assert answer.status_code == 200, answer.text
    book, plan = planned(api)
    stored = {a.id: a for a in book.accounts}
    source = rows("crm_accounts.csv")
    assert len(source) == len(stored) == 40
    for r in source:
        a = stored[r["Account ID"]]
        assert len(a.id) == 18
        assert a.arr == float(r["ARR"].replace("$", "").replace("USD", "").replace(",", "").strip())
        assert a.tier == SEGMENT_WORDS[r["Segment"].strip().lower()]
        owner = r["Account Owner Email"].lower()
        assert a.current_csm == (names[r["Account Owner Email"]] if "@" not in owner else owner)
        month, day, year = (
            (r["Renewal Date"][5:7], r["Renewal Date"][8:10], r["Renewal Date"][:4])
            if "T" in r["Renewal Date"]
            else r["Renewal Date"].split("/")
        )
        assert a.renewal_date == dt.date(int(year), int(month), int(day))
        assert a.health_score == (float(r["Health Score"]) if r["Health Score"] else None)
        assert a.parent_id == (r["Parent Account ID"] or None)
    assert any(a.parent_id for a in book.accounts) and any(a.health_score is None for a in book.accounts)
    assert {a.account for a in plan.assignments} == set(stored)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_european_semicolon_export_stores_its_decimal_comma_amounts(api: Api) -> None:
    load_team(api)
    data = (FIXTURES / "crm_accounts_eu.csv").read_bytes()
    answer = api.put("/v1/book/accounts.csv", content=data, headers=CSV)
    assert answer.status_code == 200, answer.text
    book, _plan = planned(api)
    stored = {a.id: a for a in book.accounts}
    for r in rows("crm_accounts_eu.csv", "cp1252", ";"):
        a = stored[r["Account ID"]]
        amount = r["ARR (EUR)"].replace(" €", "").replace(".", "").replace(",", ".")
        assert a.arr == float(amount), r
        assert a.name == r["Account Name"]
        day, month, year = r["Renewal Date"].split(".")
        assert a.renewal_date == dt.date(int(year), int(month), int(day))
        assert a.health_score == float(r["Health Score"].rstrip(" %"))
    assert any(not a.name.isascii() for a in book.accounts if a.name)


def test_the_crm_fixtures_on_disk_are_what_make_fixtures_produces() -> None:
    from bench.crm_exports import crm_files

    for name, data in crm_files().items():
        assert (FIXTURES / name).read_bytes() == data, f"run `make fixtures` to refresh {name}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_policy_that_drops_a_segment_the_book_uses_is_refused_and_nothing_changes(api: Api) -> None:
    load_team(api)
    before = api.get("/v1/book").json()
    policy = json.loads((FIXTURES / "crm_policy.json").read_text())
    del policy["tiers"]["majors"]
    answer = api.put("/v1/book/policy", json=policy)
    assert answer.status_code == 422 and "'majors'" in answer.json()["message"]
    assert api.get("/v1/book").json() == before
