"""`bookplan gaps`: report JSON on stdout (or -o), a table on stderr, exit 2 naming the field of bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def book_file(tmp_path: Path) -> str:
    accounts = [
        {
            "id": f"a{i}",
            "arr": 100_000,
            "tier": "enterprise",
            "hours_per_year": 110,
            "region": "NA",
            "current_csm": "c0",
        }
        for i in range(14)
    ]
    csms = [{"id": "c0", "tiers": ["enterprise"], "regions": ["NA"], "end_date": "2027-02-15"}]
    return _write(
        tmp_path / "book.json", {"accounts": accounts, "csms": csms, "policy": {"as_of": "2026-11-22"}}
    )


def test_gaps_prints_the_report_json_on_stdout_and_a_table_on_stderr(
    book_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gaps", book_file]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["as_of"] == "2026-11-22"
    (pool,) = report["pools"]
    assert (pool["tier"], pool["region"], pool["csms_needed"], pool["gap"]) == ("enterprise", "NA", 1, 0)
    (hire,) = report["hires"]
    assert (hire["needed_by"], hire["hire_by"], hire["level"]) == ("2027-01-01", "2026-08-04", "senior_csm")
    assert "enterprise NA" in err and "needed 2027-Q1" in err and "hire by 2026-08-04" in err


def test_gaps_takes_a_what_if_request_and_a_horizon(
    book_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = _write(tmp_path / "request.json", {"growth": {"enterprise": {"accounts_per_quarter": 0.5}}})
    assert main(["gaps", book_file, "--request", request, "--horizon", "2", "-q"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["horizon_quarters"] == 2
    assert [q["pools"][0]["accounts"] for q in report["quarters"]] == [21, 32]
    assert err == ""


def test_gaps_writes_the_report_to_a_file_with_o(
    book_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "report.json"
    assert main(["gaps", book_file, "-o", str(out_file), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(out_file.read_text())["total_cost"]["base_min"] == 95_000


@pytest.mark.parametrize(
    ("request_data", "field"),
    [
        (
            {"growth": {"mid_market": {"accounts_per_quarter": -1.2}}},
            "growth.mid_market.accounts_per_quarter",
        ),
        ({"horizon_quarters": 13}, "horizon_quarters"),
        ({"levels": {"smb": "intern"}}, "levels.smb"),
        ({"remove_csms": ["nobody"]}, "remove_csms[0]"),
    ],
)
def test_gaps_exits_2_with_one_line_naming_the_field_of_a_bad_request(
    book_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], request_data: Any, field: str
) -> None:
    request = _write(tmp_path / "request.json", request_data)
    assert main(["gaps", book_file, "--request", request]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"bookplan: {field}:")
    assert err.count("\n") == 1


def test_gaps_exits_2_for_a_horizon_over_12_quarters(
    book_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gaps", book_file, "--horizon", "13"]) == 2
    assert capsys.readouterr().err.startswith("bookplan: horizon_quarters:")


def test_gaps_exits_2_for_a_book_that_is_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "book.json"
    bad.write_text("{not json")
    assert main(["gaps", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_gaps_exits_2_for_a_missing_request_file(book_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", book_file, "--request", "/nonexistent/request.json"]) == 2
    assert capsys.readouterr().err.startswith("bookplan: --request /nonexistent/request.json: cannot read")
