"""The import page in chromium: upload a CRM's accounts and CSMs exports, see the mapping and the errors,
map the owner column by hand, add a segment for a CRM value, import, then the book page with the book's
own segments. Screenshots at 1280 px and 390 px; the page must fit a phone's width."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from test_pages_import import ACCOUNTS, CSMS, POLICY

pytestmark = pytest.mark.browser


@pytest.fixture
def ops_api(live_service: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_service.keys['ops']}"}
    with httpx.Client(base_url=live_service.url, headers=headers, timeout=30) as client:
        yield client


def test_a_crm_export_is_uploaded_mapped_fixed_and_imported_into_a_book_of_its_own_segments(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    book = ops_api.get("/v1/book").json()
    book["policy"] = {**book["policy"], **POLICY}
    assert ops_api.put("/v1/book", json=book).status_code == 200
    revision = ops_api.get("/v1/book/summary").json()["revision"]

    tab = open_tab()
    tab.sign_in("ops")
    tab.page.get_by_role("link", name="Import", exact=True).click()
    expect(tab.page.get_by_role("heading", name="Import a book from CRM exports")).to_be_visible()
    tab.page.get_by_label("Accounts CSV").set_input_files(
        {"name": "salesforce-accounts.csv", "mimeType": "text/csv", "buffer": ACCOUNTS.encode("cp1252")}
    )
    tab.page.get_by_label("CSMs CSV").set_input_files(
        {"name": "users.csv", "mimeType": "text/csv", "buffer": CSMS.encode()}
    )
    tab.page.get_by_role("button", name="Check the files").click()

    # How the columns were understood, the rows as parsed, and the problems by row and column.
    mapping = tab.page.locator("#mapping-accounts")
    expect(mapping.get_by_label("ARR (EUR)")).to_have_value("arr")
    expect(mapping.get_by_label("Owner Mail")).to_have_value("-")
    expect(tab.page.locator("#sample-accounts")).to_contain_text("120000.5")
    problems = tab.page.locator("#problems-accounts")
    expect(problems).to_contain_text("Scale")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(tab.page.locator("#import")).to_be_disabled()
    tab.shoot("import-problems")
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    tab.page.set_viewport_size({"width": 390, "height": 844})
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 390, "the page overflows a phone"
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    assert width <= 1280

    # Fix: the owner column by hand, a segment for "Scale", with the keyboard.
    mapping.get_by_label("Owner Mail").select_option("current_csm")
    tab.page.get_by_label("Segment name").fill("scale")
    hours = tab.page.get_by_label("Hours a year per account")
    hours.fill("12,5")
    add = tab.page.get_by_role("button", name="Add “Scale”")
    add.focus()
    tab.page.keyboard.press("Enter")
    expect(tab.page.get_by_text("No problems: 3 rows ready.")).to_be_visible()
    expect(tab.page.locator("#mapping-accounts").get_by_label("Owner Mail")).to_have_value("current_csm")
    importing = tab.page.locator("#import")
    expect(importing).to_be_enabled()
    expect(importing).to_contain_text("3 accounts, 2 CSMs")
    importing.focus()
    tab.page.keyboard.press("Enter")

    expect(tab.page.locator("#imported")).to_be_visible()
    summary = tab.page.get_by_role("table", name="Accounts and ARR by tier")
    expect(summary.locator("tbody th")).to_have_text(["Commercial", "Majors", "Scale"])
    tab.shoot("import-done")
    stored = ops_api.get("/v1/book").json()
    assert ops_api.get("/v1/book/summary").json()["revision"] == revision + 1
    assert {a["tier"] for a in stored["accounts"]} == {"majors", "commercial", "scale"}
    assert {c["crm_user_id"] for c in stored["csms"]} == {"0055e000001DanaAAA", "0055e000001LeeOAAA"}
