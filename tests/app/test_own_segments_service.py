"""A book of the customer's own segments (commercial, corporate, majors: no built-in name) through the
service and the CLI: planned and validated, reported in hiring gaps at the segment's level; an undefined
segment is a 422 / exit 2 that names it and lists the known ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, Api

from app.cli import main
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan

SEGMENTS = {
    "commercial": {"hours_per_year": 30, "label": "Commercial"},
    "corporate": {"hours_per_year": 44, "max_accounts": 30, "level": "senior_csm", "label": "Corporate"},
    "majors": {"hours_per_year": 300, "arr_cap": 2_000_000, "label": "Majors"},
}


def own_book(corporate_accounts: int = 20) -> dict[str, Any]:
    return {
        "accounts": [
            {"id": f"com-{i}", "arr": 20_000, "tier": "commercial", "current_csm": "c-com"} for i in range(30)
        ]
        + [{"id": f"cor-{i}", "arr": 80_000, "tier": "corporate"} for i in range(corporate_accounts)]
        + [{"id": f"maj-{i}", "arr": 600_000, "tier": "majors", "health": "red"} for i in range(3)],
        "csms": [
            {"id": "c-com", "tiers": ["commercial"]},
            {"id": "c-cor", "tiers": ["corporate", "commercial"]},
            {"id": "c-maj", "tiers": ["majors"]},
        ],
        "policy": {"as_of": AS_OF, "time_limit_seconds": 5, "tiers": SEGMENTS, "health_hours": {"red": 1.5}},
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_book_of_its_own_segments_is_solved_validated_and_its_red_majors_weigh_one_and_a_half(
    api: Api,
) -> None:
    book = own_book()
    answer = api.post("/v1/solve", json=book)
    assert answer.status_code == 200, answer.text
    plan = Plan.model_validate(answer.json())
    assert_valid_plan(Book.model_validate(book), plan)
    assert not plan.unassigned
    loads = {load.csm: load for load in plan.csm_loads}
    assert loads["c-maj"].hours == pytest.approx(3 * 450)  # 3 red × 1.5 × 300 h


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hiring_gaps_report_a_custom_segment_at_its_level(api: Api) -> None:
    answer = api.post("/v1/hiring-gaps", json={"book": own_book(corporate_accounts=50)}, scope="hr")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    corporate = next(p for p in report["pools"] if p["tier"] == "corporate")
    assert corporate["csms_needed"] == 2  # 50 accounts, at most 30 each (50 × 44 h fits one CSM's hours)
    hire = next(h for h in report["hires"] if h["tier"] == "corporate")
    assert hire["level"] == "senior_csm" and hire["base_range"] == [95000, 120000]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_undefined_segment_is_a_422_naming_it_and_the_known_ones(api: Api) -> None:
    book = own_book()
    book["accounts"][0]["tier"] = "platinum"
    answer = api.post("/v1/solve", json=book)
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert "accounts[0].tier" in message and "'platinum'" in message
    assert "commercial, corporate, majors" in message


def test_an_undefined_segment_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = own_book()
    book["csms"][1]["tiers"] = ["corporate", "scale"]
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "csms[1].tiers[1]" in err and "'scale'" in err and "majors" in err
