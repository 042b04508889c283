"""The plan schedule (one plan per period however many tickers, one catch-up after an outage, proposals
unless auto-approved within max_moves), its API, and the signed webhook with retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from workers_helpers import Api, Workers, settings_for, small_book

from app.core.db import Database, migrate
from app.main import create_app
from app.runner.distributed import DistributedRunner
from app.services.keys import create_key
from app.services.schedule import tick_schedule
from app.services.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

pytestmark = pytest.mark.postgres
QUARTERLY = "0 6 1 1,4,7,10 *"


def _set_schedule(db: Database, **values: Any) -> None:
    values = {"enabled": True, "active_since": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), **values}
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with db.writing() as session:
        session.execute(text(f"UPDATE plan_schedule SET {assignments} WHERE id = 1"), values)


def _runs(db: Database) -> list[tuple[dt.datetime, str]]:
    with db.session() as session:
        rows = session.execute(text("SELECT period, plan_id FROM schedule_run ORDER BY period")).all()
    return [(r[0].astimezone(dt.UTC), r[1]) for r in rows]


def _scheduled_plans(db: Database) -> int:
    with db.session() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM plan_job WHERE requested_by = 'scheduler'")
            ).scalar_one()
        )


def _tick_together(db: Database, url: str, now: dt.datetime | None, tickers: int = 6) -> list[str | None]:
    settings = settings_for(url)
    runner = DistributedRunner(db, settings)
    barrier = threading.Barrier(tickers)
    started: list[str | None] = []

    def tick() -> None:
        barrier.wait()
        started.append(tick_schedule(db, runner, settings, now=now))

    threads = [threading.Thread(target=tick) for _ in range(tickers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started


def test_three_workers_and_a_tick_at_once_start_exactly_one_plan_for_the_quarter(
    make_api: Callable[..., Api], workers: Workers, db: Database, pg_url: str
) -> None:
    api = make_api()
    assert api.request("PUT", "/v1/book", json=small_book("stored")).status_code == 200
    for _ in range(3):
        workers.start(concurrency=1, BOOKPLAN_SCHEDULE_TIMEZONE="Europe/Paris")
    workers.wait_registered(3, db)
    # The quarter that started 2026-10-01 06:00 in Paris (now is later in that quarter, 2026-11).
    _set_schedule(db, timezone="Europe/Paris", cron=QUARTERLY)
    started = [plan for plan in _tick_together(db, pg_url, now=None, tickers=4) if plan]
    time.sleep(1.5)  # the workers tick every 0.3 s meanwhile

    runs = _runs(db)
    assert [period for period, _ in runs] == [dt.datetime(2026, 10, 1, 4, 0, tzinfo=dt.UTC)]
    assert _scheduled_plans(db) == 1
    assert len(started) <= 1
    job = api.wait_for(runs[0][1], ("succeeded", "failed"), timeout=60)
    assert job["status"] == "succeeded"
    # A proposal: never applied without approval.
    deadline = time.monotonic() + 10
    while True:
        with db.session() as session:
            decision = session.execute(text("SELECT decision FROM schedule_run")).scalar()
        if decision not in (None, "deciding") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert decision == "proposal"
    assert api.job(job["id"])["approved_at"] is None


def test_an_outage_across_a_period_boundary_is_caught_up_with_exactly_one_plan(
    make_api: Callable[..., Api], db: Database, pg_url: str
) -> None:
    # The service's own ticker stays quiet: on the wall clock (after 1 October 2026) it would start
    # October's plan itself, racing the simulated ticks below.
    api = make_api(tick_seconds=600)
    assert api.request("PUT", "/v1/book", json=small_book("stored")).status_code == 200
    _set_schedule(db, timezone="Europe/Paris", cron=QUARTERLY)
    april = dt.datetime(2026, 4, 1, 4, 0, tzinfo=dt.UTC)  # 06:00 in Paris (summer time)
    assert len([p for p in _tick_together(db, pg_url, april + dt.timedelta(minutes=5)) if p]) == 1
    assert [period for period, _ in _runs(db)] == [april]
    # Everything was down from May to 2 October: July's period was missed, October's has come.
    assert len([p for p in _tick_together(db, pg_url, dt.datetime(2026, 10, 2, tzinfo=dt.UTC)) if p]) == 1
    october = dt.datetime(2026, 10, 1, 4, 0, tzinfo=dt.UTC)
    assert [period for period, _ in _runs(db)] == [april, october]
    assert not any(_tick_together(db, pg_url, dt.datetime(2026, 10, 3, tzinfo=dt.UTC)))
    assert _scheduled_plans(db) == 2


def test_the_schedule_is_read_and_replaced_with_an_ops_key_and_bad_values_are_named(
    make_api: Callable[..., Api], db: Database
) -> None:
    api = make_api()
    schedule = api.request("GET", "/v1/schedule").json()
    assert schedule["cron"] == QUARTERLY and schedule["auto_approve"] is False
    assert schedule["effective_timezone"] == "UTC"
    bad = api.request("PUT", "/v1/schedule", json={"cron": "every quarter please"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "cron"
    bad = api.request("PUT", "/v1/schedule", json={"timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and "Mars/Olympus" in bad.json()["message"]
    answer = api.request(
        "PUT",
        "/v1/schedule",
        json={"cron": QUARTERLY, "timezone": "America/New_York", "auto_approve": True, "max_moves": 10},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["auto_approve"] is True and body["max_moves"] == 10 and body["updated_by"] == "test-ops"
    assert body["next_run_at"] == "2027-01-01T11:00:00Z"  # 06:00 in New York
    with db.session() as session:
        hr_key = create_key(session, ["hr"], name="hr")[1]
    denied = api.client.get("/v1/schedule", headers={"Authorization": f"Bearer {hr_key}"})
    assert denied.status_code == 403


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    url = f"sqlite:///{tmp_path / 'bookplan.db'}"
    migrate(url)
    clients: list[TestClient] = []

    def build(**overrides: Any) -> Api:
        settings = settings_for(url, runner="inprocess", solve_function="solver.engine:solve", **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        db: Database = client.app.state.db  # type: ignore[attr-defined]
        with db.session() as session:
            key = create_key(session, ["ops"], name="test-ops")[1]
        return Api(client, key, db)

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _scheduled_decision(db: Database, timeout: float = 60) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
            row = session.execute(text("SELECT plan_id, decision FROM schedule_run")).first()
        if row is not None and row[1] not in (None, "deciding"):
            return str(row[0]), str(row[1])
        time.sleep(0.1)
    raise AssertionError("the scheduled plan was not decided")


@pytest.mark.parametrize("max_moves", [50, 0])
def test_on_sqlite_the_service_alone_runs_the_schedule_and_auto_approves_only_within_max_moves(
    sqlite_api: Callable[..., Api], max_moves: int
) -> None:
    api = sqlite_api()
    assert api.request("PUT", "/v1/book", json=small_book("stored")).status_code == 200
    # Yearly at a minute ago, active since an hour ago: that period is due at once, the next in a year.
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    _set_schedule(
        api.db,
        cron=f"{due.minute} {due.hour} {due.day} {due.month} *",
        timezone="UTC",
        auto_approve=True,
        max_moves=max_moves,
        active_since=due - dt.timedelta(hours=1),
    )
    plan_id, decision = _scheduled_decision(api.db)
    job = api.job(plan_id)
    assert job["status"] == "succeeded" and job["requested_by"] == "scheduler"
    moves = len(job["plan"]["moves"])
    assert moves > 0
    revision = api.request("GET", "/v1/book/summary").json()["revision"]
    if max_moves >= moves:
        assert decision == "approved"
        assert job["approved_by"] == "scheduler" and revision == 2
    else:
        assert decision == f"proposal: {moves} moves, more than the schedule's max_moves (0)"
        assert job["approved_at"] is None and revision == 1


class _Receiver(BaseHTTPRequestHandler):
    failures_left = 2
    received: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        code = 500 if type(self).failures_left > 0 else 200
        type(self).failures_left -= 1
        type(self).received.append((code, dict(self.headers), body))
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"down")

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_is_signed_and_a_receiver_failing_twice_gets_the_summary_on_the_third_try(
    make_api: Callable[..., Api], db: Database
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.failures_left, _Receiver.received = 2, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = make_api(
            runner="inprocess",
            solve_function="solver.engine:solve",
            tick_seconds=0.1,
            webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            webhook_secret="s3cret",
            webhook_backoff_seconds=0.1,
        )
        plan_id = api.request("POST", "/v1/plans", json={"book": small_book("hooked")}).json()["id"]
        job = api.wait_for(plan_id, ("succeeded",), timeout=60)
        deadline = time.monotonic() + 10
        while len(_Receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        server.shutdown()
        server.server_close()
    assert [code for code, _, _ in _Receiver.received] == [500, 500, 200]
    # One delivery id on every retry, so the receiver can tell a retry from a new delivery.
    assert len({h["X-Bookplan-Delivery"] for _, h, _ in _Receiver.received}) == 1
    _, headers, body = _Receiver.received[2]
    assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    summary = json.loads(body)
    assert summary["plan_id"] == plan_id and summary["status"] == "succeeded"
    assert summary["moves"] == len(job["plan"]["moves"]) > 0
    assert summary["max_utilization"] == job["plan"]["max_utilization"]
    assert set(summary["hiring_gap"]) == {"hours_over_capacity", "unassigned_accounts"}
    with db.session() as session:
        status, attempts = session.execute(text("SELECT status, attempts FROM webhook_delivery")).one()
    assert (status, attempts) == ("delivered", 3)
