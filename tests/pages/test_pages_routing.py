"""The "New account" page: candidates as the API ranks them, exclusions in words, Assign for ops only
(CSRF-checked), bad input next to its field; in chromium against a live service on the demo book."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pages_support import sign_in
from playwright.sync_api import expect

NEW = {
    "id": "initech",
    "name": "Initech",
    "tier": "enterprise",
    "arr": 120_000,
    "region": "NA",
    "language": "en",
}


def test_assign_without_the_forms_csrf_token_changes_nothing(client: TestClient) -> None:
    sign_in(client, "ops")
    data = {k: str(v) for k, v in NEW.items()}
    refused = client.post("/route/assign", data=data)
    assert refused.status_code == 403
    key = client.keys["ops"]  # type: ignore[attr-defined]
    missing = client.get("/v1/book/accounts/initech", headers={"Authorization": f"Bearer {key}"})
    assert missing.status_code == 404


def test_a_scheduler_may_ask_but_assigning_needs_ops(client: TestClient) -> None:
    csrf = sign_in(client, "scheduler")
    page = client.get("/route", params={k: str(v) for k, v in NEW.items()})
    assert page.status_code == 200
    assert 'id="candidates"' in page.text and "/route/assign" not in page.text
    refused = client.post("/route/assign", data={**{k: str(v) for k, v in NEW.items()}, "csrf": csrf})
    assert refused.status_code == 403


@pytest.fixture
def ops_api(live_service: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_service.keys['ops']}"}
    with httpx.Client(base_url=live_service.url, headers=headers, timeout=30) as client:
        yield client


@pytest.mark.browser
def test_the_new_account_form_lists_the_apis_candidates_and_assign_writes_the_first(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    expected = ops_api.post("/v1/recommendations", json={"accounts": [NEW], "top": 5}).json()
    (rec,) = expected["recommendations"]
    tab = open_tab()
    tab.sign_in("ops")
    tab.page.get_by_role("link", name="New account").click()
    expect(tab.page.get_by_role("heading", name="New account")).to_be_visible()
    tab.page.get_by_label("Account id").fill("initech")
    tab.page.get_by_label("Name").fill("Initech")
    tab.page.get_by_label("Segment").select_option("enterprise")
    tab.page.get_by_label("ARR").fill("120000")
    tab.page.get_by_label("Region").fill("NA")
    tab.page.get_by_label("Language").fill("en")
    tab.page.get_by_role("button", name="Find CSMs").click()
    rows = tab.page.locator("#candidates tbody tr[data-csm]")
    expect(rows.first).to_be_visible()
    assert [rows.nth(i).get_attribute("data-csm") for i in range(rows.count())] == [
        c["csm"] for c in rec["candidates"]
    ]
    excluded = tab.page.locator("#excluded li")
    assert [excluded.nth(i).get_attribute("data-rule") for i in range(excluded.count())] == [
        e["rule"] for e in rec["excluded"]
    ]
    expect(tab.page.locator("#excluded")).to_contain_text(rec["excluded"][0]["reason"])
    tab.shoot("route")

    first = rec["candidates"][0]
    tab.page.get_by_role("button", name="Assign to").click()
    expect(tab.page.locator("#assigned")).to_contain_text(f"Assigned initech to {first['csm']}")
    tab.shoot("route-assigned")
    stored = ops_api.get("/v1/book/accounts/initech").json()
    assert stored["current_csm"] == first["csm"] and stored["arr"] == 120_000
    events = ops_api.get("/v1/audit", params={"account": "initech", "action": "account_routed"}).json()
    assert events["total"] == 1 and events["items"][0]["to_csm"] == first["csm"]
    assert tab.errors == []


@pytest.mark.browser
def test_bad_input_on_the_form_is_named_next_to_its_field(open_tab: Callable[[], Any]) -> None:
    tab = open_tab()
    tab.sign_in("ops")
    tab.goto("/route?id=pinecrest-industrial&tier=smb&arr=2500")
    expect(tab.page.locator("#id-error")).to_contain_text("already in the book")
    tab.goto("/route?id=acme-2&tier=smb&arr=lots")
    expect(tab.page.locator("#arr-error")).to_be_visible()
    assert tab.page.get_by_label("ARR").input_value() == "lots"
    tab.shoot("route-error")
