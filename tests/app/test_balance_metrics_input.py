"""Bad `balance_metrics` input: exit 2 from the CLI and 422 from the API, naming the field and the value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, small_book

from app.cli import main

BAD = [
    ({"revenue": 0.1}, "revenue"),
    ({"arr": -0.1}, "-0.1"),
    ({"arr": "wide"}, "wide"),
    ({"red_accounts": 0.5}, "no account has health"),
]


def _book(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "accounts": [{"id": "a", "arr": 5, "tier": "smb"}],
        "csms": [{"id": "c-ana", "tiers": ["smb"]}],
        "policy": {"balance_metrics": metrics},
    }


@pytest.mark.parametrize(("metrics", "named"), BAD)
def test_a_bad_balance_metric_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metrics: dict[str, Any], named: str
) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(_book(metrics)))
    code = main(["solve", str(path), "--time-limit", "2"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "balance_metrics" in err and named in err and "Traceback" not in err


@pytest.mark.parametrize(("metrics", "named"), BAD)
def test_a_bad_balance_metric_is_a_422_naming_the_field(
    api: Api, metrics: dict[str, Any], named: str
) -> None:
    book = small_book()
    book["policy"]["balance_metrics"] = metrics
    answer = api.post("/v1/solve", json=book)
    assert answer.status_code == 422
    assert "balance_metrics" in answer.text and named in answer.text


def test_a_book_with_some_health_and_red_accounts_plans_with_a_warning(api: Api) -> None:
    book = small_book()
    book["accounts"][0]["health"] = "red"
    book["policy"]["balance_metrics"] = {"red_accounts": 0.5, "arr": 0.2}
    answer = api.post("/v1/solve", json=book)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert any("red_accounts" in w for w in plan["warnings"])
    assert {f["metric"] for f in plan["fairness"]} >= {"hours", "arr", "red_accounts"}


def test_an_overloaded_book_plans_with_nothing_but_the_plan_on_stdout(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The serve phase runs HiGHS here (not everything fits); whatever it prints must not reach stdout.
    accounts = [
        {"id": f"a{i}", "arr": 10_000 * (i + 1), "tier": "smb", "hours_per_year": 40 + i} for i in range(12)
    ]
    path = tmp_path / "book.json"
    path.write_text(
        json.dumps({"accounts": accounts, "csms": [{"id": "c-ana", "tiers": ["smb"], "capacity_hours": 200}]})
    )
    code = main(["solve", str(path), "--time-limit", "3"])
    out, _ = capfd.readouterr()
    assert code == 0
    plan = json.loads(out)
    assert plan["unassigned"] and plan["pools"][0]["served_arr_bound"] >= plan["pools"][0]["served_arr"]


def test_balance_metrics_can_be_set_for_one_plan_and_the_stored_policy_keeps_its_own(api: Api) -> None:
    api.put("/v1/book", json=small_book())
    answer = api.post("/v1/plans", json={"policy": {"balance_metrics": {"arr": 0.2}}})
    assert answer.status_code == 202, answer.text
    job = api.wait_for(answer.json()["id"], ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    assert job["policy_overrides"] == {"balance_metrics": {"arr": 0.2}}
    assert {f["metric"] for f in job["plan"]["fairness"]} >= {"hours", "arr"}
    assert not api.get("/v1/book").json()["policy"].get("balance_metrics")


@pytest.mark.parametrize(("metrics", "named"), BAD)
def test_a_bad_balance_metric_for_one_plan_is_a_422_naming_the_field(
    api: Api, metrics: dict[str, Any], named: str
) -> None:
    # small_book has no health data: red_accounts set for one plan is refused as on the book itself.
    api.put("/v1/book", json=small_book())
    answer = api.post("/v1/plans", json={"policy": {"balance_metrics": metrics}})
    assert answer.status_code == 422, answer.text
    assert "balance_metrics" in answer.text and named in answer.text


def test_an_inline_book_with_red_accounts_and_no_health_names_the_field_inside_the_book(api: Api) -> None:
    book = small_book()
    book["policy"]["balance_metrics"] = {"red_accounts": 0.5}
    answer = api.post("/v1/plans", json={"book": book})
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["field"] == "book.policy.balance_metrics.red_accounts"
    assert problem["message"].startswith("book.policy.balance_metrics.red_accounts: no account has health")
    assert '"accounts"' not in problem["message"]  # the book is not echoed back


def test_the_cli_summary_says_the_plans_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = small_book()
    book["accounts"][0]["health"] = "red"
    book["policy"]["balance_metrics"] = {"red_accounts": 0.5}
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))
    assert main(["solve", str(path), "--time-limit", "2", "-o", str(tmp_path / "plan.json")]) == 0
    _, err = capsys.readouterr()
    assert "warning: policy.balance_metrics.red_accounts:" in err
