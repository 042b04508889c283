"""The pages without a browser: sign-in and its cookie, scopes, CSRF, form errors, the CSV, and that the
page routes stay out of the OpenAPI document."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from pages_support import login_token, post_login, sign_in

from app.core.db import Database
from app.pages.session import COOKIE_NAME
from app.services.keys import revoke_key


def plans_total(client: TestClient) -> int:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    response = client.get("/v1/plans", headers={"Authorization": f"Bearer {key}"})
    return int(response.json()["total"])


def wait_for(client: TestClient, plan_id: str) -> dict[str, Any]:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(
            f"/v1/plans/{plan_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_pages_send_a_visitor_without_a_session_to_sign_in_and_back(client: TestClient) -> None:
    for path in ("/", "/plans", "/gaps", "/audit", "/csms/c-theo", "/gaps.csv"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert client.get("/plans?offset=5").headers["location"] == "/login?next=%2Fplans%3Foffset%3D5"
    signed = post_login(client, client.keys["ops"], next="/audit")  # type: ignore[attr-defined]
    assert signed.headers["location"] == "/audit"


def test_the_session_cookie_is_http_only_same_site_and_never_holds_the_key(client: TestClient) -> None:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    response = post_login(client, key)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http here; https below
    assert key not in cookie
    assert key.removeprefix("bp_")[:12] not in cookie
    client.cookies.clear()
    secure = post_login(client, key, url="https://testserver/login").headers["set-cookie"]
    assert "Secure" in secure


def test_a_tampered_or_revoked_session_is_signed_out(client: TestClient) -> None:
    sign_in(client, "ops")
    value = client.cookies[COOKIE_NAME]
    key_id, issued, session_id, signature = value.split(".")
    client.cookies.set(COOKIE_NAME, f"{int(key_id) + 1}.{issued}.{session_id}.{signature}")
    assert client.get("/").status_code == 303
    client.cookies.set(COOKIE_NAME, value)
    assert client.get("/").status_code == 200
    db = Database(str(client.app.state.settings.database_url))  # type: ignore[attr-defined]
    try:
        with db.session() as session:
            revoke_key(session, "pages-ops")
    finally:
        db.dispose()
    assert client.get("/").headers["location"] == "/login?next=%2F"


def test_next_only_leads_to_a_page_of_this_site(client: TestClient) -> None:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = post_login(client, key, next=target)
        assert response.headers["location"] == "/"


def test_a_wrong_key_is_refused_next_to_the_field_and_kept(client: TestClient) -> None:
    response = post_login(client, "bp_wrong")
    assert response.status_code == 200
    assert 'id="key-error"' in response.text
    assert 'value="bp_wrong"' in response.text
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")
    empty = post_login(client, "")
    assert "Enter an API key" in empty.text


def test_state_changing_forms_without_the_session_token_change_nothing(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    before = plans_total(client)
    assert client.post("/plans", data={"time_limit_seconds": "5"}).status_code == 403
    assert client.post("/plans", data={"time_limit_seconds": "5", "csrf": "x" * 40}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    assert plans_total(client) == before
    out = client.post("/logout", data={"csrf": csrf})
    assert out.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_bad_plan_options_name_the_field_keep_the_input_and_start_nothing(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    before = plans_total(client)
    response = client.post(
        "/plans",
        data={
            "csrf": csrf,
            "objective": "cheapest",
            "balance_tolerance": "2",
            "renewal_freeze_days": "ninety",
            "as_of": "2026-13-01",
            "time_limit_seconds": "5",
            "note": "my note",
        },
    )
    assert response.status_code == 200
    for name in ("objective", "balance_tolerance", "renewal_freeze_days", "as_of"):
        assert f'id="{name}-error"' in response.text, name
    assert 'id="time_limit_seconds-error"' not in response.text
    assert 'value="ninety"' in response.text
    assert 'value="2026-13-01"' in response.text
    assert "my note</textarea>" in response.text
    assert plans_total(client) == before


def test_an_hr_key_reads_the_summary_and_gaps_and_is_refused_plans(client: TestClient) -> None:
    ops_key = client.keys["ops"]  # type: ignore[attr-defined]
    created = client.post("/v1/plans", json={}, headers={"Authorization": f"Bearer {ops_key}"}).json()
    wait_for(client, created["id"])
    csrf = sign_in(client, "hr")
    book = client.get("/")
    assert book.status_code == 200
    assert "Accounts and ARR by tier" in book.text
    assert 'id="csm-table"' not in book.text
    assert 'href="/plans"' not in book.text
    for path in (
        "/plans",
        f"/plans/{created['id']}",
        "/audit",
        "/csms/c-theo",
        f"/plans/{created['id']}/approve",
    ):
        assert client.get(path).status_code == 403, path
    for action in ("approve", "discard"):
        assert client.post(f"/plans/{created['id']}/{action}", data={"csrf": csrf}).status_code == 403
    assert client.post("/plans", data={"csrf": csrf}).status_code == 403
    job = wait_for(client, created["id"])
    assert job["approved_at"] is None
    csv_text = client.get("/gaps.csv")
    assert csv_text.status_code == 200
    assert csv_text.headers["content-disposition"].startswith("attachment;")
    lines = csv_text.text.splitlines()
    assert lines[0].startswith("tier,region,count,level,needed_by,hire_by")
    report = client.get("/v1/hiring-gaps", headers={"Authorization": f"Bearer {client.keys['hr']}"}).json()  # type: ignore[attr-defined]
    assert len(lines) == 1 + len(report["hires"])


def test_a_scheduler_key_starts_and_reads_plans_but_cannot_approve_or_read_the_book(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "scheduler")
    assert client.get("/").headers["location"] == "/plans"
    started = client.post("/plans", data={"csrf": csrf, "time_limit_seconds": "5"})
    assert started.status_code == 303
    plan_id = started.headers["location"].rsplit("/", 1)[-1]
    wait_for(client, plan_id)
    page = client.get(f"/plans/{plan_id}")
    assert page.status_code == 200
    assert 'id="approve-link"' not in page.text
    assert client.post(f"/plans/{plan_id}/approve", data={"csrf": csrf}).status_code == 403
    assert client.get("/gaps").status_code == 403


def test_a_discarded_plan_cannot_be_approved_from_the_pages(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    started = client.post("/plans", data={"csrf": csrf, "time_limit_seconds": "5"})
    plan_id = started.headers["location"].rsplit("/", 1)[-1]
    assert wait_for(client, plan_id)["status"] == "succeeded"
    confirm = client.get(f"/plans/{plan_id}/discard")
    assert f"Discard plan {plan_id[:8]}?" in confirm.text
    assert 'id="confirm-discard"' in confirm.text
    assert client.post(f"/plans/{plan_id}/discard", data={"csrf": csrf}).status_code == 303
    assert 'id="confirm-discard"' not in client.get(f"/plans/{plan_id}/discard").text
    page = client.get(f"/plans/{plan_id}")
    assert "Discarded by pages-ops" in page.text
    refused = client.post(f"/plans/{plan_id}/approve", data={"csrf": csrf})
    assert refused.status_code == 409
    assert "Discarded by pages-ops" in refused.text
    assert wait_for(client, plan_id)["approved_at"] is None
    # The API agrees: a plan discarded by a person is not approvable by a tool either.
    keys = client.keys  # type: ignore[attr-defined]
    by_api = client.post(f"/v1/plans/{plan_id}/approve", headers={"Authorization": f"Bearer {keys['ops']}"})
    assert by_api.status_code == 409
    assert "discarded by pages-ops" in by_api.json()["message"]


def test_page_routes_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all(path.startswith(("/v1/", "/healthz", "/readyz")) for path in paths)
    assert client.get("/static/app.css").status_code == 200


def test_the_start_form_overrides_only_the_fields_changed_from_the_books_policy(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    form = client.get("/plans").text
    values = {
        name: form.split(f'id="{name}" name="{name}" type="text" value="', 1)[1].split('"', 1)[0]
        for name in ("balance_tolerance", "renewal_freeze_days", "as_of", "time_limit_seconds")
    }
    assert values["as_of"] == "2026-11-22"
    assert float(values["time_limit_seconds"]) == 5  # the service's limit: the demo book sets none
    unchanged = {"csrf": csrf, "objective": "balance", "region_match": "hard", "language_match": "hard"}
    first = client.post("/plans", data={**unchanged, **values})
    first_job = wait_for(client, first.headers["location"].rsplit("/", 1)[-1])
    assert first_job["policy_overrides"] is None
    second = client.post("/plans", data={**unchanged, **values, "renewal_freeze_days": "30"})
    second_job = wait_for(client, second.headers["location"].rsplit("/", 1)[-1])
    assert second_job["policy_overrides"] == {"renewal_freeze_days": 30}


def test_a_page_offset_past_any_list_is_clamped_not_a_500(client: TestClient) -> None:
    sign_in(client, "ops")
    for path in ("/plans", "/audit"):
        response = client.get(path, params={"offset": "99999999999999999999"})
        assert response.status_code == 200, (path, response.text[:200])


def test_a_nul_in_a_page_filter_is_422_not_a_500(client: TestClient) -> None:
    sign_in(client, "ops")
    response = client.get("/audit", params={"account": "a\x00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "account"


def test_sign_out_ends_the_session_on_the_server_so_a_copied_cookie_no_longer_works(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "ops")
    copied = client.cookies[COOKIE_NAME]
    assert client.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    client.cookies.set(COOKIE_NAME, copied)  # the old cookie, replayed
    assert client.get("/").status_code == 303
    assert client.post("/plans", data={"csrf": csrf, "time_limit_seconds": "5"}).status_code == 303


def test_a_cross_site_login_post_signs_nobody_in(client: TestClient) -> None:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    # A form on another site can send neither this site's login token nor a same-site Origin.
    forged = client.post("/login", data={"key": key, "login_token": "x" * 40})
    assert forged.status_code == 403 and COOKIE_NAME not in forged.headers.get("set-cookie", "")
    token = login_token(client)
    cross = client.post(
        "/login", data={"key": key, "login_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and COOKIE_NAME not in cross.headers.get("set-cookie", "")
    own = client.post(
        "/login", data={"key": key, "login_token": token}, headers={"Origin": "http://testserver"}
    )
    assert own.status_code == 303 and COOKIE_NAME in own.headers["set-cookie"]
