"""Fairness on the pages: the ARR-per-CSM chart with its band on the plan review, the fairness table on the
plan review and on the book page (HTTP, no browser)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from pages_support import sign_in
from test_pages_http import wait_for

from app.pages.fairness_views import arr_chart
from solver.engine import solve
from solver.schema import Book


def test_the_plan_review_shows_arr_per_csm_and_the_fairness_table(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    started = client.post("/plans", data={"csrf": csrf, "time_limit_seconds": "5"})
    plan_id = started.headers["location"].rsplit("/", 1)[-1]
    job = wait_for(client, plan_id)
    assert job["status"] == "succeeded"
    page = client.get(f"/plans/{plan_id}").text
    assert 'id="arr-caption"' in page
    shown = set(re.findall(r'data-arr-csm="([^"]+)"', page))
    assert shown == {ld["csm"] for ld in job["plan"]["csm_loads"] if ld["capacity_hours"] > 0}
    rows = re.findall(r'<tr data-pool="[^"]+" data-metric="([^"]+)"', page)
    assert {"hours", "arr"} <= set(rows)
    assert len(rows) == len(job["plan"]["fairness"])


def test_the_book_page_shows_the_fairness_of_the_book_as_it_stands(client: TestClient) -> None:
    sign_in(client, "ops")
    page = client.get("/").text
    assert 'id="fairness"' in page
    assert re.search(r'data-metric="hours"', page) and re.search(r'data-metric="arr"', page)


def test_the_arr_band_on_the_chart_is_the_capacity_share_of_the_pool_arr_plus_or_minus_the_tolerance() -> (
    None
):
    book = Book.model_validate(
        {
            "accounts": [
                {"id": f"a{i}", "arr": 100_000 * (i + 1), "tier": "enterprise", "hours_per_year": 100}
                for i in range(4)
            ],
            "csms": [
                {"id": "full", "tiers": ["enterprise"], "capacity_hours": 1000},
                {"id": "half", "tiers": ["enterprise"], "capacity_hours": 500},
            ],
            "policy": {"as_of": "2026-11-22", "balance_metrics": {"arr": 0.2}, "time_limit_seconds": 2},
        }
    )
    plan = solve(book)
    chart = arr_chart(plan, book)
    half = next(b for b in chart.bars if b.label == "half")
    # $1M over 1,500 h: the half-time CSM's share is $333k, band $267k-$400k.
    assert "band $267k–$400k" in half.text
    assert chart.banded
