"""Hiring gaps over HTTP: the stored book's report (cached per revision) and an inline book's."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Api, small_book

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_hr_reads_the_stored_books_hiring_gaps_and_the_cache_answers_repeats(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = api.client.app.state.gap_reports  # type: ignore[attr-defined]
    computed: list[dict[str, Any]] = []
    compute = reports.compute

    def counting_compute(book: Any, request: dict[str, Any]) -> bytes:
        computed.append(request)
        return compute(book, request)  # type: ignore[no-any-return]

    monkeypatch.setattr(reports, "compute", counting_compute)
    api.put("/v1/book", json=small_book(accounts=12))
    first = api.get("/v1/hiring-gaps", scope="hr", params={"horizon_quarters": 2})
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["horizon_quarters"] == 2
    pool = next(p for p in report["pools"] if p["tier"] == "enterprise")
    assert pool["accounts"] == 12
    assert len(computed) == 1
    again = api.get("/v1/hiring-gaps", scope="hr", params={"horizon_quarters": 2})
    assert again.json() == report
    assert len(computed) == 1, "a repeat of the same request on the same revision is computed again"
    # Another request is another report; an edit makes a new revision, computed again on the new book.
    api.get("/v1/hiring-gaps", scope="hr", params={"horizon_quarters": 1})
    assert len(computed) == 2
    api.delete("/v1/book/accounts/a0")
    changed = api.get("/v1/hiring-gaps", scope="hr", params={"horizon_quarters": 2}).json()
    assert next(p for p in changed["pools"] if p["tier"] == "enterprise")["accounts"] == 11
    assert len(computed) == 3


def test_an_inline_book_gets_its_report_and_bad_fields_are_named(api: Api) -> None:
    answer = api.post("/v1/hiring-gaps", scope="hr", json={"book": small_book(), "horizon_quarters": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["horizon_quarters"] == 1
    bad = api.post("/v1/hiring-gaps", scope="hr", json={"book": small_book(), "horizon_quarters": 99})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "horizon_quarters"
    assert api.get("/v1/hiring-gaps", scope="hr", params={"group_by": "planet"}).status_code == 422
