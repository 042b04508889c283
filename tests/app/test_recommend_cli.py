"""`bookplan recommend BOOK.json NEW.json [--top N]`: the recommendations as JSON on stdout, a table on
stderr, exit 2 naming the field of bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

BOOK = Path(__file__).resolve().parents[2] / "fixtures" / "demo_book.json"


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_recommend_prints_the_candidates_as_json_and_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = _write(
        tmp_path / "new.json",
        {"accounts": [{"id": "n1", "arr": 120_000, "tier": "enterprise", "region": "NA", "language": "en"}]},
    )
    assert main(["recommend", str(BOOK), new, "--top", "2"]) == 0
    out, err = capsys.readouterr()
    (rec,) = json.loads(out)["recommendations"]
    assert rec["account"] == "n1"
    assert len(rec["candidates"]) == 2
    assert rec["candidates"][0]["utilization_after"] <= rec["candidates"][1]["utilization_after"]
    assert {e["rule"] for e in rec["excluded"]} >= {"segment", "region"}
    assert "n1 (110 h)" in err and "excluded" in err


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (
            [{"id": "pinecrest-industrial", "arr": 1, "tier": "smb"}],
            "accounts[0].id: account 'pinecrest-industrial'",
        ),
        ([{"id": "n1", "arr": "lots", "tier": "smb"}], "accounts[0].arr"),
        ([], "accounts: the list is empty"),
        ({"acounts": []}, "acounts: unknown field"),
    ],
)
def test_bad_new_accounts_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new: Any, message: str
) -> None:
    assert main(["recommend", str(BOOK), _write(tmp_path / "new.json", new)]) == 2
    assert message in capsys.readouterr().err
