"""Deciding a rebalance in a real browser (chromium): the frontier chart opens each point's plan, the tick
boxes re-plan around a veto and the re-plan shows what changed, and plans side by side with the
differences highlighted, checked against the API. Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def ops_api(live_service: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_service.keys['ops']}"}
    with httpx.Client(base_url=live_service.url, headers=headers, timeout=30) as client:
        yield client


def finished(api: httpx.Client, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        job = api.get(url).json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_the_frontier_chart_links_every_point_and_a_veto_replans_with_the_changes_shown(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    created = ops_api.post("/v1/plans", json={"frontier": True, "policy": {"time_limit_seconds": 10}})
    assert created.status_code == 202, created.text
    job = finished(ops_api, created.json()["url"])
    points = job["frontier"]
    assert len(points) >= 2

    tab = open_tab()
    tab.sign_in("ops")
    tab.goto(f"/plans/{job['id']}")
    links = tab.page.locator("#frontier a.frontier-point")
    assert links.count() == len(points)
    assert tab.page.locator("#frontier-table tbody tr").count() == len(points)
    assert tab.page.locator("polyline.frontier-line.util").count() == 1
    tab.shoot("frontier")
    # The chart's second point opens its plan.
    tab.page.locator("#frontier a.frontier-point").nth(1).dispatch_event("click")
    tab.page.wait_for_url(f"**/plans/{points[1]['plan_id']}")
    expect(tab.page.locator("#moves-table")).to_be_visible()

    # Veto two moves of the unconstrained plan.
    tab.goto(f"/plans/{points[-1]['plan_id']}")
    ticks = tab.page.locator('#moves-table input[type="checkbox"][name="moves"]')
    assert ticks.count() == points[-1]["moves"]
    book = ops_api.get("/v1/book").json()
    left = {c["id"] for c in book["csms"] if c.get("end_date") and c["end_date"] <= book["policy"]["as_of"]}
    plan = ops_api.get(f"/v1/plans/{points[-1]['plan_id']}").json()["plan"]
    vetoed = [m["account"] for m in plan["moves"] if m["from"] not in left][:2]
    assert vetoed, "the unconstrained plan makes balancing moves"
    for account in vetoed:
        tab.page.locator(f'#moves-table input[name="moves"][value="{account}"]').check()
    tab.page.get_by_role("button", name="Re-plan without these").click()
    tab.page.wait_for_url("**/plans/*")
    child_id = tab.page.url.rsplit("/", 1)[-1]
    assert child_id != points[-1]["plan_id"]
    child = finished(ops_api, f"/v1/plans/{child_id}")
    assert child["parent"] == points[-1]["plan_id"]
    assigned = {a["account"]: a["csm"] for a in child["plan"]["assignments"]}
    current = {a["id"]: a["current_csm"] for a in ops_api.get("/v1/book").json()["accounts"]}
    assert all(assigned[a] == current[a] for a in vetoed)
    tab.goto(f"/plans/{child_id}")
    expect(tab.page.locator("#changes")).to_be_visible()
    for account in vetoed:
        expect(tab.page.locator("#changes-dropped")).to_contain_text(str(account))
    tab.shoot("replan")


def test_the_compare_page_puts_plans_side_by_side_and_highlights_what_differs(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    plans = []
    for body in (
        {"policy": {"time_limit_seconds": 5}},
        {"policy": {"time_limit_seconds": 5, "max_moves": 1}},
    ):
        created = ops_api.post("/v1/plans", json=body)
        plans.append(finished(ops_api, created.json()["url"]))
    ids = ",".join(p["id"] for p in plans)
    expected = ops_api.get("/v1/plans/compare", params={"ids": ids}).json()

    tab = open_tab()
    tab.sign_in("ops")
    tab.goto(f"/plans/compare?ids={ids}")
    expect(tab.page.get_by_role("heading", name="Plans side by side")).to_be_visible()
    moves_row = tab.page.locator('#compare-figures tr[data-figure="moves"] td')
    assert [moves_row.nth(i).inner_text() for i in range(2)] == [str(p["moves"]) for p in expected["plans"]]
    assert "differs" in (
        tab.page.locator('#compare-figures tr[data-figure="moves"]').get_attribute("class") or ""
    )
    rows = tab.page.locator("#compare-csms tbody tr")
    assert rows.count() == len(expected["csms"])
    highlighted = {
        rows.nth(i).get_attribute("data-csm")
        for i in range(rows.count())
        if "differs" in (rows.nth(i).get_attribute("class") or "")
    }
    assert highlighted == {row["csm"] for row in expected["csms"] if row["differs"]}
    assert highlighted, "a one-move plan and an unconstrained one differ for some CSM"
    background = tab.page.locator("#compare-csms tr.differs td").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    tab.shoot("compare")
