"""Carrying out a rebalance over HTTP: change sheets, CRM write-back files in each format, and the handoff
recorded on each moved account once the plan is approved."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, small_book

from app.cli import main
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan


def crm_book(**policy: Any) -> dict[str, Any]:
    """small_book with CRM identities on both CSMs: c-lee is overloaded, so accounts move to c-dana."""
    book = small_book(**policy)
    for csm in book["csms"]:
        csm["email"] = f"{csm['id'][2:]}@example.com"
        csm["crm_user_id"] = f"005{csm['id'][2:].upper()}"
    return book


def planned(api: Api, book: dict[str, Any], **policy: Any) -> tuple[str, dict[str, Any]]:
    assert api.put("/v1/book", json=book).status_code == 200
    answer = api.post("/v1/plans", json={"policy": policy} if policy else {})
    assert answer.status_code == 202, answer.text
    job = api.wait_for(answer.json()["id"], ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    solved = {**book, "policy": {**book["policy"], **policy}}  # the overrides are the plan's policy
    assert_valid_plan(Book.model_validate(solved), Plan.model_validate(job["plan"]))
    assert job["plan"]["moves"], "c-lee is overloaded: the plan must move accounts"
    return job["id"], job["plan"]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_move_of_a_stored_plan_has_a_handoff_day_and_wave(api: Api) -> None:
    _plan_id, plan = planned(api, crm_book(), handoffs_per_week=1)
    waves = sorted(m["wave"] for m in plan["moves"])
    assert waves == list(range(1, len(waves) + 1))  # one receiving CSM, one a week
    assert all(m["handoff_on"] >= plan["as_of"] for m in plan["moves"])


def test_handoffs_per_week_of_zero_is_a_422_naming_the_field(api: Api) -> None:
    api.put("/v1/book", json=crm_book())
    answer = api.post("/v1/plans", json={"policy": {"handoffs_per_week": 0}})
    assert answer.status_code == 422
    assert "handoffs_per_week" in answer.json()["message"]


def test_the_salesforce_file_has_the_data_loader_header_and_the_new_owners_user_id(api: Api) -> None:
    plan_id, plan = planned(api, crm_book())
    answer = api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "salesforce"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text.startswith("Id,OwnerId\r\n")  # the header, byte for byte
    table = rows(answer.text)
    assert table[0] == ["Id", "OwnerId"]
    assert sorted(table[1:]) == sorted([m["account"], "005" + m["to"][2:].upper()] for m in plan["moves"])


def test_the_hubspot_file_names_the_new_owner_by_email(api: Api) -> None:
    plan_id, plan = planned(api, crm_book())
    text = api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "hubspot"}).text
    assert text.startswith("Record ID,Company owner\r\n")
    table = rows(text)
    assert sorted(table[1:]) == sorted([m["account"], f"{m['to'][2:]}@example.com"] for m in plan["moves"])


def test_the_generic_file_is_a_proposal_until_the_plan_is_approved(api: Api) -> None:
    plan_id, plan = planned(api, crm_book(), handoffs_per_week=2)
    table = rows(api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic"}).text)
    header = table[0]
    assert header == [
        "account_id", "account_name", "from_csm", "from_name", "to_csm", "to_name",
        "arr", "hours", "handoff_on", "wave", "reason", "status",
    ]  # fmt: skip
    by_account = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert len(table) - 1 == len(plan["moves"]) == len(by_account)
    for m in plan["moves"]:
        row = by_account[m["account"]]
        assert (row["from_csm"], row["to_csm"], row["from_name"], row["to_name"]) == (
            m["from"],
            m["to"],
            "Lee",
            "Dana",
        )
        assert (row["handoff_on"], int(row["wave"]), row["status"]) == (
            m["handoff_on"],
            m["wave"],
            "proposal",
        )
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 200
    after = rows(api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic"}).text)
    assert {r[-1] for r in after[1:]} == {"approved"}
    wave2 = rows(api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic", "wave": 2}).text)
    assert sorted(r[0] for r in wave2[1:]) == sorted(m["account"] for m in plan["moves"] if m["wave"] == 2)


def test_a_receiving_csm_without_a_crm_user_id_makes_the_salesforce_file_a_422_naming_them(api: Api) -> None:
    book = crm_book()
    del book["csms"][0]["crm_user_id"]  # c-dana, who receives every move
    plan_id, _plan = planned(api, book)
    answer = api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "salesforce"})
    assert answer.status_code == 422
    assert "c-dana" in answer.json()["message"] and "crm_user_id" in answer.json()["message"]
    assert api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "hubspot"}).status_code == 200


def test_an_unknown_format_or_a_wave_the_plan_does_not_have_is_a_422_naming_the_field(api: Api) -> None:
    plan_id, plan = planned(api, crm_book())
    bad_format = api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "pipedrive"})
    assert bad_format.status_code == 422 and "format" in bad_format.json()["message"]
    last = max(m["wave"] for m in plan["moves"])
    bad_wave = api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic", "wave": last + 1})
    assert bad_wave.status_code == 422
    assert bad_wave.json()["detail"][0]["field"] == "wave"
    assert (
        api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic", "wave": 0}).status_code
        == 422
    )
    assert api.get("/v1/plans/nope/handoffs.csv", params={"format": "generic"}).status_code == 404


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(api: Api) -> None:
    book = crm_book()
    for account in book["accounts"]:
        account["name"] = '=HYPERLINK("http://evil.example","click")'
    book["csms"][0]["crm_user_id"] = "+005DANA"
    book["csms"][0]["name"] = "@Dana"
    plan_id, _plan = planned(api, book)
    generic = rows(api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "generic"}).text)
    assert {r[1] for r in generic[1:]} == {'\'=HYPERLINK("http://evil.example","click")'}
    assert {r[5] for r in generic[1:]} == {"'@Dana"}
    salesforce = rows(api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "salesforce"}).text)
    assert {r[1] for r in salesforce[1:]} == {"'+005DANA"}
    changes = rows(api.get(f"/v1/plans/{plan_id}/changes.csv").text)
    assert all(not cell.startswith(("=", "+", "@")) for row in changes[1:] for cell in row)


def test_the_change_sheets_give_each_csm_their_gains_and_losses_and_their_load_before_and_after(
    api: Api,
) -> None:
    plan_id, plan = planned(api, crm_book())
    answer = api.get(f"/v1/plans/{plan_id}/changes")
    assert answer.status_code == 200, answer.text
    sheets = {s["csm"]: s for s in answer.json()}
    assert answer.headers["X-Bookplan-Plan-Status"] == "proposal"
    moved = {m["account"]: m for m in plan["moves"]}
    assert sorted(g["account"] for g in sheets["c-dana"]["gains"]) == sorted(moved)
    assert sorted(g["account"] for g in sheets["c-lee"]["losses"]) == sorted(moved)
    assert sheets["c-dana"]["losses"] == [] and sheets["c-lee"]["gains"] == []
    gain = sheets["c-dana"]["gains"][0]
    move = moved[gain["account"]]
    assert (gain["other_csm"], gain["handoff_on"], gain["wave"], gain["reason"]) == (
        "c-lee",
        move["handoff_on"],
        move["wave"],
        move["reason"],
    )
    assert gain["hours"] == 110 and gain["arr"] == move["arr"]
    loads = {load["csm"]: load for load in plan["csm_loads"]}
    for csm, sheet in sheets.items():
        assert abs(sheet["hours_after"] - loads[csm]["hours"]) < 0.01
        assert abs(sheet["arr_after"] - loads[csm]["arr"]) < 0.01
    assert sheets["c-lee"]["hours_before"] == 660 and sheets["c-dana"]["hours_before"] == 0
    assert sheets["c-lee"]["arr_before"] - sheets["c-lee"]["arr_after"] == sum(
        m["arr"] for m in plan["moves"]
    )
    table = rows(api.get(f"/v1/plans/{plan_id}/changes.csv").text)
    assert table[0][:3] == ["csm", "csm_name", "change"]
    assert len(table) - 1 == 2 * len(plan["moves"])


def test_after_approval_the_book_shows_each_moved_accounts_previous_csm_and_handoff_day(api: Api) -> None:
    plan_id, plan = planned(api, crm_book())
    before = {a["id"]: a for a in api.get("/v1/book").json()["accounts"]}
    assert all(a.get("previous_csm") is None for a in before.values())
    assert api.post(f"/v1/plans/{plan_id}/approve").status_code == 200
    stored = {a["id"]: a for a in api.get("/v1/book").json()["accounts"]}
    for m in plan["moves"]:
        account = stored[m["account"]]
        assert (account["current_csm"], account["previous_csm"], account["handoff_on"]) == (
            m["to"],
            m["from"],
            m["handoff_on"],
        )
    unmoved = set(stored) - {m["account"] for m in plan["moves"]}
    assert all(stored[a].get("previous_csm") is None for a in unmoved)


def test_bookplan_export_handoffs_writes_the_same_files_and_exits_2_on_bad_input(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book = crm_book()
    del book["csms"][0]["crm_user_id"]  # c-dana receives every move
    plan_id, plan = planned(api, book)
    db = ["--database-url", database_url]
    assert main(["export-handoffs", plan_id, "--format", "hubspot", *db]) == 0
    captured = capsys.readouterr()
    assert captured.out == api.get(f"/v1/plans/{plan_id}/handoffs.csv", params={"format": "hubspot"}).text
    assert "proposal" in captured.err
    out = tmp_path / "wave1.csv"
    assert main(["export-handoffs", plan_id, "--format", "generic", "--wave", "1", "-o", str(out), *db]) == 0
    assert len(rows(out.read_text())) - 1 == sum(1 for m in plan["moves"] if m["wave"] == 1)
    assert main(["export-handoffs", plan_id, "--format", "salesforce", *db]) == 2
    assert "c-dana" in capsys.readouterr().err
    assert main(["export-handoffs", plan_id, "--format", "generic", "--wave", "99", *db]) == 2
    assert "wave" in capsys.readouterr().err
    assert main(["export-handoffs", "no-such-plan", "--format", "generic", *db]) == 2
    with pytest.raises(SystemExit) as exited:
        main(["export-handoffs", plan_id, "--format", "pipedrive", *db])
    assert exited.value.code == 2
