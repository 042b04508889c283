"""Keys and quotas: ambiguous revocation refused, the key id in the audit log, trusted proxies, caps on
workers and time limits, jobs per key, concurrent hiring-gap reports, one stored book per content, and a
scheduler key cancelling its own jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import func, select

from app.cli import main
from app.core.db import Database, migrate
from app.errors import Conflict
from app.models import BookSnapshot
from app.services.keys import authenticate, create_key, revoke_key


def test_revoking_a_name_two_keys_share_revokes_neither_and_lists_their_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    migrate(url)
    db = Database(url)
    try:
        with db.session() as session:
            first, first_secret = create_key(session, ["ops"], name="laptop")
            second, second_secret = create_key(session, ["hr"], name="laptop")
            with pytest.raises(Conflict) as refused:
                revoke_key(session, "laptop")
        assert f"{first.id} (ops" in refused.value.message and f"{second.id} (hr" in refused.value.message
        assert main(["keys", "revoke", "laptop", "--database-url", url]) == 2
        assert str(second.id) in capsys.readouterr().err
        with db.session() as session:
            assert authenticate(session, first_secret) is not None
            assert authenticate(session, second_secret) is not None
        assert main(["keys", "revoke", str(first.id), "--database-url", url]) == 0
        with db.session() as session:
            assert authenticate(session, first_secret) is None
            assert authenticate(session, second_secret) is not None
            assert revoke_key(session, "laptop").id == second.id  # one active key left: no ambiguity
    finally:
        db.dispose()


def test_the_audit_log_tells_two_keys_of_one_name_apart(api: Api) -> None:
    with api.db.session() as session:
        one, one_secret = create_key(session, ["ops"], name="twin")
        two, two_secret = create_key(session, ["ops"], name="twin")
    api.put("/v1/book", json=small_book())
    account = api.get("/v1/book/accounts/a1").json()
    for secret, arr in ((one_secret, 1), (two_secret, 2)):
        answer = api.put(
            "/v1/book/accounts/a1",
            json={**account, "arr": arr},
            scope=None,
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert answer.status_code == 200, answer.text
    events = api.get("/v1/audit", params={"action": "account_updated"}).json()["items"]
    assert [(e["actor"], e["actor_key_id"]) for e in events] == [("twin", two.id), ("twin", one.id)]


def test_forwarded_https_is_believed_only_from_a_trusted_proxy(make_api: Any) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    untrusted = make_api()
    cookie = untrusted.client.get("/login", headers=forwarded).headers["set-cookie"]
    assert "Secure" not in cookie
    trusted = make_api(trusted_proxies="testclient, 10.0.0.0/8")
    cookie = trusted.client.get("/login", headers=forwarded).headers["set-cookie"]
    assert "Secure" in cookie


def test_a_plan_may_not_ask_for_more_workers_or_time_than_the_settings_allow(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    many = api.post("/v1/plans", json={"policy": {"workers": 64}})
    assert many.status_code == 422 and many.json()["detail"][0]["field"] == "policy.workers"
    day = api.post("/v1/plans", json={"policy": {"time_limit_seconds": 86_400}})
    assert day.status_code == 422 and day.json()["detail"][0]["field"] == "policy.time_limit_seconds"
    assert "600" in day.json()["message"]
    inline = small_book(time_limit_seconds=601)
    assert api.post("/v1/solve", json=inline).status_code == 422
    assert api.post("/v1/plans", json={"book": inline}).status_code == 422
    assert (
        api.post("/v1/plans", json={"policy": {"time_limit_seconds": 600, "workers": 8}}).status_code == 202
    )
    roomy = make_api(runner_concurrency=0, max_time_limit_seconds=86_400, max_solve_workers=64)
    assert (
        roomy.post("/v1/plans", json={"policy": {"time_limit_seconds": 86_400, "workers": 64}}).status_code
        == 202
    )


def test_a_key_past_its_queued_and_running_jobs_gets_429_with_retry_after(make_api: Any) -> None:
    api = make_api(runner_concurrency=0, max_active_jobs_per_key=2)
    api.put("/v1/book", json=small_book())
    started = [api.post("/v1/plans", json={}, scope="scheduler") for _ in range(2)]
    assert [s.status_code for s in started] == [202, 202]
    refused = api.post("/v1/plans", json={}, scope="scheduler")
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] and "limit is 2" in refused.json()["message"]
    assert api.post("/v1/plans", json={}, scope="ops").status_code == 202  # another key has its own quota
    assert api.delete(f"/v1/plans/{started[0].json()['id']}", scope="scheduler").status_code == 200
    assert api.post("/v1/plans", json={}, scope="scheduler").status_code == 202


def test_a_scheduler_key_may_cancel_its_own_jobs_and_only_those(make_api: Any) -> None:
    api = make_api(runner_concurrency=0)
    api.put("/v1/book", json=small_book())
    own = api.post("/v1/plans", json={}, scope="scheduler").json()["id"]
    theirs = api.post("/v1/plans", json={}, scope="ops").json()["id"]
    cancelled = api.delete(f"/v1/plans/{own}", scope="scheduler")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    refused = api.delete(f"/v1/plans/{theirs}", scope="scheduler")
    assert refused.status_code == 403 and "only the plan jobs it started" in refused.json()["message"]
    assert api.get(f"/v1/plans/{theirs}").json()["status"] == "queued"
    assert api.delete(f"/v1/plans/{theirs}", scope="ops").status_code == 200


def test_hiring_gap_reports_past_the_concurrency_cap_get_503_with_retry_after(make_api: Any) -> None:
    api = make_api(gap_report_concurrency=1)
    api.put("/v1/book", json=small_book())
    slots = api.client.app.state.gap_reports._slots  # type: ignore[attr-defined]
    assert slots.acquire(blocking=False)  # one report in flight holds the only slot
    try:
        busy = api.post("/v1/hiring-gaps", json={"book": small_book()})
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert "hiring-gap report slots" in busy.json()["message"]
    finally:
        slots.release()
    assert api.post("/v1/hiring-gaps", json={"book": small_book()}).status_code == 200


def test_plan_jobs_on_one_book_store_it_once(make_api: Any) -> None:
    api = make_api(runner_concurrency=0, max_active_jobs_per_key=0)
    api.put("/v1/book", json=small_book(accounts=20))
    for limit in (5, 6, 7, 8):
        assert api.post("/v1/plans", json={"policy": {"time_limit_seconds": limit}}).status_code == 202
    with api.db.session() as session:
        assert session.execute(select(func.count()).select_from(BookSnapshot)).scalar_one() == 1
    api.put("/v1/book", json=small_book(accounts=21))
    assert api.post("/v1/plans", json={}).status_code == 202
    with api.db.session() as session:
        assert session.execute(select(func.count()).select_from(BookSnapshot)).scalar_one() == 2
