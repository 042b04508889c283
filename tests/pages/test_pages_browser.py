"""The pages in a real browser (Debian's chromium through Playwright) against a live service on the demo
book: sign in, the book's bars, a plan from start to approval checked against the API, what an hr key
sees, bad input, stale plans. Pages are screenshotted at 1280 px and 390 px into test-artifacts/pages/."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from solver.policy import account_hours, csm_has_left
from solver.schema import Book

pytestmark = pytest.mark.browser


@pytest.fixture
def ops_api(live_service: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_service.keys['ops']}"}
    with httpx.Client(base_url=live_service.url, headers=headers, timeout=30) as client:
        yield client


def finished_plan(api: httpx.Client, body: dict[str, Any] | None = None) -> dict[str, Any]:
    created = api.post("/v1/plans", json=body or {"policy": {"time_limit_seconds": 5}})
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 60
    while True:
        job = api.get(created.json()["url"]).json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def active_csm_ids(api: httpx.Client) -> set[str]:
    book = Book.model_validate(api.get("/v1/book").json())
    today = book.policy.as_of or dt.date.today()
    return {c.id for c in book.csms if not csm_has_left(c, today)}


def test_signing_in_shows_a_bar_for_every_active_csm_and_their_accounts(
    open_tab: Callable[[], Any], live_service: Any, ops_api: httpx.Client
) -> None:
    tab = open_tab()
    tab.goto("/")
    assert "/login?next=%2F" in tab.page.url
    tab.shoot("login")
    tab.page.get_by_label("API key").fill(live_service.keys["ops"])
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("heading", name="Book of business")).to_be_visible()
    assert tab.page.url == live_service.url + "/"

    expected = active_csm_ids(ops_api)
    bars = tab.page.locator("figure.chart .bar-row[data-csm]")
    assert {bars.nth(i).get_attribute("data-csm") for i in range(bars.count())} == expected
    assert bars.count() == len(expected)
    rows = tab.page.locator("#csm-table tbody tr[data-csm]")
    assert rows.count() == len(expected)
    tab.shoot("book")

    first = rows.first.get_attribute("data-csm")
    tab.page.locator(f'#csm-table tr[data-csm="{first}"] th a').click()
    expect(tab.page.locator("#accounts")).to_be_visible()
    owned = ops_api.get("/v1/book/accounts", params={"csm": first, "limit": 500}).json()["items"]
    assert tab.page.locator("#accounts tbody tr").count() == max(1, len(owned))
    tab.shoot("csm")


def test_a_wrong_key_is_refused_next_to_the_field_and_what_was_typed_is_kept(
    open_tab: Callable[[], Any],
) -> None:
    tab = open_tab()
    tab.goto("/login")
    tab.page.get_by_label("API key").fill("bp_not-a-real-key")
    tab.page.get_by_role("button", name="Sign in").click()
    error = tab.page.locator("#key-error")
    expect(error).to_contain_text("not valid")
    assert tab.page.get_by_label("API key").input_value() == "bp_not-a-real-key"
    assert tab.page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    tab.shoot("login-error")


def test_a_plan_started_in_the_browser_matches_the_api_and_its_approval_changes_the_book(
    open_tab: Callable[[], Any], live_service: Any, ops_api: httpx.Client
) -> None:
    tab = open_tab()
    tab.sign_in("ops")
    rows_before = tab.page.locator("#csm-table tbody tr[data-csm]")
    hours_before = {
        rows_before.nth(i).get_attribute("data-csm"): rows_before.nth(i).locator("td").nth(1).inner_text()
        for i in range(rows_before.count())
    }
    tab.goto("/plans")
    tab.page.get_by_label("Time limit (seconds)").fill("5")
    tab.shoot("plans")
    tab.page.get_by_role("button", name="Start plan").click()
    tab.page.wait_for_url("**/plans/*")
    plan_id = tab.page.url.rsplit("/", 1)[-1]
    if tab.page.locator("#progress").count():
        tab.shoot("plan-progress")
    # The progress page polls and reloads into the review when the solve ends.
    expect(tab.page.locator("#moves-table")).to_be_visible(timeout=60_000)

    job = ops_api.get(f"/v1/plans/{plan_id}").json()
    assert job["status"] == "succeeded"
    api_moves = {(m["account"], m["from"] or "", m["to"]) for m in job["plan"]["moves"]}
    assert api_moves, "the demo book should need moves"
    unowned = {a["id"] for a in ops_api.get("/v1/book").json()["accounts"] if a.get("current_csm") is None}
    first_csms = {a["account"]: a["csm"] for a in job["plan"]["assignments"] if a["account"] in unowned}
    rows = tab.page.locator("#moves-table tbody tr[data-account]")
    shown = {
        (
            rows.nth(i).get_attribute("data-account"),
            rows.nth(i).get_attribute("data-from"),
            rows.nth(i).get_attribute("data-to"),
        )
        for i in range(rows.count())
    }
    assert rows.count() == len(api_moves)
    assert shown == api_moves
    tab.shoot("plan-review")

    target = sorted(api_moves)[0][2]
    tab.page.get_by_label("CSM", exact=True).select_option(target)
    tab.page.get_by_role("button", name="Filter").click()
    expect(tab.page.locator("#moves-table caption")).to_contain_text("moves shown")
    involved = {m for m in api_moves if target in (m[1], m[2])}
    assert tab.page.locator("#moves-table tbody tr[data-account]").count() == len(involved)

    tab.page.locator("#approve-link").click()
    expect(tab.page.get_by_role("heading", name=f"Approve plan {plan_id[:8]}?")).to_be_visible()
    tab.shoot("plan-approve")
    tab.page.get_by_label("Note for the audit log (optional)").fill("rebalanced from the browser test")
    tab.page.locator("#confirm-approve").click()
    tab.page.wait_for_url(f"**/?approved={plan_id}")
    expect(tab.page.get_by_role("status")).to_contain_text("approved")

    # The book page now shows the moves applied: each CSM's hours are those of the accounts they hold in
    # the stored book, which has every move of the plan.
    book = Book.model_validate(ops_api.get("/v1/book").json())
    stored = {a.id: a.current_csm for a in book.accounts}
    assert all(stored[account] == to for account, _from, to in api_moves)
    assert all(stored[account] == csm for account, csm in first_csms.items())
    expected = dict.fromkeys(active_csm_ids(ops_api), 0.0)
    for a in book.accounts:
        if a.current_csm in expected:
            expected[a.current_csm] += account_hours(a, book.policy)
    changed = 0
    for csm, hours in expected.items():
        shown_now = tab.page.locator(f'#csm-table tr[data-csm="{csm}"] td').nth(1).inner_text()
        assert shown_now == f"{hours:,.0f} h", csm
        changed += shown_now != hours_before[csm]
    assert changed >= 2
    tab.shoot("book-after-approval")

    tab.goto(f"/audit?plan_id={plan_id}")
    # One event per move, one per new account's first CSM, and the approval itself.
    expect(tab.page.locator("#audit caption")).to_contain_text(
        f"{len(api_moves) + len(first_csms) + 1} events"
    )
    tab.shoot("audit")


def test_an_hr_key_sees_the_summary_and_hiring_gaps_but_cannot_approve(
    open_tab: Callable[[], Any], live_service: Any, ops_api: httpx.Client
) -> None:
    job = finished_plan(ops_api)
    tab = open_tab()
    tab.sign_in("hr")
    expect(tab.page.get_by_role("heading", name="Book of business")).to_be_visible()
    assert tab.page.locator(".bar-row[data-csm]").count() == 0
    nav = tab.page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Plans").count() == 0
    assert nav.get_by_role("link", name="History").count() == 0
    tab.shoot("book-hr")

    nav.get_by_role("link", name="Hiring gaps").click()
    expect(tab.page.locator("#hires")).to_be_visible()
    assert tab.page.locator(".col-chart svg").count() >= 1
    assert tab.page.locator("#gap-table tbody tr").count() == tab.page.locator(".col-chart").count()
    tab.shoot("gaps")
    download = tab.page.request.get(live_service.url + "/gaps.csv")
    assert download.status == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text().splitlines()[0].startswith("tier,region,count,level,needed_by,hire_by")

    csrf = tab.page.locator('input[name="csrf"]').first.get_attribute("value")
    assert tab.page.request.get(f"{live_service.url}/plans/{job['id']}").status == 403
    refused = tab.page.request.post(
        f"{live_service.url}/plans/{job['id']}/approve", form={"csrf": csrf}, max_redirects=0
    )
    assert refused.status == 403
    assert ops_api.get(f"/v1/plans/{job['id']}").json()["approved_at"] is None


def test_bad_plan_options_are_shown_next_to_their_field_and_nothing_starts(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    before = ops_api.get("/v1/plans").json()["total"]
    tab = open_tab()
    tab.sign_in("ops")
    tab.goto("/plans")
    tab.page.get_by_label("Balance tolerance").fill("lots")
    tab.page.get_by_label("Most moves").fill("-3")
    tab.page.get_by_label("Note (optional)").fill("keep this note")
    tab.page.get_by_role("button", name="Start plan").click()
    expect(tab.page.locator("#balance_tolerance-error")).to_contain_text("valid number")
    expect(tab.page.locator("#max_moves-error")).to_contain_text("greater than or equal to 0")
    assert tab.page.get_by_label("Balance tolerance").input_value() == "lots"
    assert tab.page.get_by_label("Most moves").input_value() == "-3"
    assert tab.page.get_by_label("Note (optional)").input_value() == "keep this note"
    tab.shoot("plans-errors")
    assert ops_api.get("/v1/plans").json()["total"] == before


def test_a_plan_on_a_book_that_changed_since_says_why_it_cannot_be_approved(
    open_tab: Callable[[], Any], ops_api: httpx.Client
) -> None:
    job = finished_plan(ops_api)
    account = ops_api.get("/v1/book/accounts", params={"limit": 1}).json()["items"][0]
    account["arr"] += 1000
    assert ops_api.put(f"/v1/book/accounts/{account['id']}", json=account).status_code == 200
    tab = open_tab()
    tab.sign_in("ops")
    tab.goto(f"/plans/{job['id']}")
    expect(tab.page.locator("#blocker")).to_contain_text("changed since this plan")
    expect(tab.page.locator("#blocker")).to_contain_text("1 account edited")
    assert tab.page.locator("#approve-link").count() == 0
    tab.shoot("plan-stale")
    tab.goto(f"/plans/{job['id']}/approve")
    expect(tab.page.locator("#blocker")).to_contain_text("cannot be approved")
    assert tab.page.locator("#confirm-approve").count() == 0
