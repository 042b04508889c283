"""Carrying out a rebalance in the browser (chromium): the plan's handoff calendar, a CSM's printable change
sheet checked against the API, the CRM download buttons, and the handoffs in progress after approval."""

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


def finished_plan(api: httpx.Client, policy: dict[str, Any]) -> dict[str, Any]:
    created = api.post("/v1/plans", json={"policy": policy})
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 60
    while True:
        job = api.get(created.json()["url"]).json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_the_change_sheet_page_walks_a_csm_through_their_gains_and_losses(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    job = finished_plan(ops_api, {"time_limit_seconds": 5, "handoffs_per_week": 2})
    plan_id, moves = job["id"], job["plan"]["moves"]
    assert moves, "the demo book has a leaver and overloaded CSMs: the plan must move accounts"
    sheets = {s["csm"]: s for s in ops_api.get(f"/v1/plans/{plan_id}/changes").json()}

    tab = open_tab()
    tab.sign_in("ops")
    tab.goto(f"/plans/{plan_id}")
    calendar = tab.page.locator("#handoff-calendar")
    expect(calendar).to_be_visible()
    shown = sum(1 for m in moves if m["wave"] <= 26)
    expect(calendar.locator("tbody li")).to_have_count(shown)
    receiver = max(sheets.values(), key=lambda s: len(s["gains"]))
    row = calendar.locator(f'tr[data-csm="{receiver["csm"]}"]')
    handed = [g for g in receiver["gains"] if g["wave"] is not None]  # (new accounts have no handoff)
    for wave in {g["wave"] for g in handed if g["wave"] <= 26}:
        count = sum(1 for g in handed if g["wave"] == wave)
        assert count <= 2
        expect(row.locator(f'td[data-wave="{wave}"] li')).to_have_count(count)
    tab.shoot("plan-handoffs")

    tab.page.locator("#change-sheets").get_by_role("link", name=receiver["csm_name"]).click()
    expect(tab.page.get_by_role("heading", name=f"What changes for {receiver['csm_name']}")).to_be_visible()
    expect(tab.page.locator("#gains li")).to_have_count(len(receiver["gains"]))
    expect(tab.page.locator("#losses li")).to_have_count(len(receiver["losses"]))
    expect(tab.page.locator("#proposal")).to_be_visible()
    first = receiver["gains"][0]
    assert first["wave"] is not None  # gains are sorted by handoff day, new accounts last
    gain_text = tab.page.locator("#gains li").first.inner_text()
    assert first["account_name"] in gain_text and first["other_csm_name"] in gain_text
    assert f"(week {first['wave']})" in gain_text and first["reason"] in gain_text
    load = tab.page.locator("#load-sentence").inner_text()
    assert f"from {receiver['accounts_before']} to {receiver['accounts_after']} accounts" in load
    tab.shoot("change-sheet")
    tab.page.emulate_media(media="print")
    expect(tab.page.locator("header.top")).to_be_hidden()
    expect(tab.page.locator("#change-sheet")).to_be_visible()
    tab.page.emulate_media(media="screen")

    # The demo CSMs have no Salesforce user ids: the Salesforce button's answer names them.
    request = tab.page.context.request
    salesforce = request.get(f"{tab.service.url}/plans/{plan_id}/handoffs/salesforce.csv")
    assert salesforce.status == 422 and receiver["csm"] in salesforce.text()
    generic = request.get(f"{tab.service.url}/plans/{plan_id}/handoffs/generic.csv")
    assert generic.status == 200 and generic.text().count("\n") == len(moves) + 1
    assert "proposal" in generic.headers["content-disposition"]

    assert ops_api.post(f"/v1/plans/{plan_id}/approve").status_code == 200
    tab.goto("/")
    expect(tab.page.locator("#handoffs-in-progress tbody tr")).to_have_count(len(moves))
    tab.goto(f"/csms/{receiver['csm']}")
    expect(tab.page.locator("#handoffs-in-progress tbody tr")).to_have_count(
        len(handed) + len(receiver["losses"])
    )
    tab.shoot("csm-handoffs")
