"""`handoffs.due`: on each wave's first handoff day the wave's moves are posted once, signed, however many
schedulers tick at once on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import text
from workers_helpers import Api, settings_for, small_book

from app.core.db import Database
from app.runner.distributed import DistributedRunner
from app.services.handoff_notices import send_handoff_notices
from app.services.schedule import maintenance
from app.services.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

pytestmark = pytest.mark.postgres


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with type(self).lock:
            type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _handoff_events() -> list[dict[str, Any]]:
    events = [json.loads(body) for _headers, body in _Receiver.received]
    return [e for e in events if e["event"] == "handoffs.due"]


def _together(action: Callable[[Database], object], databases: list[Database], per_database: int = 2) -> None:
    """Each database (a scheduler with its own connections) runs `action` from several threads at once."""
    barrier = threading.Barrier(len(databases) * per_database)

    def run(database: Database) -> None:
        barrier.wait()
        action(database)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases for _ in range(per_database)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_each_wave_is_announced_once_on_its_day_with_two_schedulers_on_postgres(
    make_api: Callable[..., Api], db: Database, pg_url: str
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    book = small_book("handoffs")
    # As of 8 days ago, one handoff a week: waves 1 and 2 have begun, wave 3 starts in 6 days.
    book["policy"] = {"as_of": (today - dt.timedelta(days=8)).isoformat(), "handoffs_per_week": 1}
    api = make_api(runner="inprocess", solve_function="solver.engine:solve", tick_seconds=600)
    assert api.request("PUT", "/v1/book", json=book).status_code == 200
    plan_id = api.request("POST", "/v1/plans", json={}).json()["id"]
    job = api.wait_for(plan_id, ("succeeded",), timeout=60)
    moves = job["plan"]["moves"]
    assert sorted(m["wave"] for m in moves) == [1, 2, 3]
    assert api.request("POST", f"/v1/plans/{plan_id}/approve").status_code == 200

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = settings_for(
        pg_url, webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook", webhook_secret="s3cret"
    )
    schedulers = [Database(pg_url), Database(pg_url)]
    try:
        runner = DistributedRunner(db, settings)
        for _round in range(3):  # every process's ticker round and its webhook thread's round, three times
            _together(lambda d: maintenance(d, runner, settings), schedulers)
            _together(lambda d: send_handoff_notices(d, settings), schedulers)
        assert sorted(e["wave"] for e in _handoff_events()) == [1, 2]
        next_week = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
        for _round in range(2):
            _together(lambda d: send_handoff_notices(d, settings, now=next_week), schedulers)
    finally:
        server.shutdown()
        server.server_close()
        for database in schedulers:
            database.dispose()

    events = _handoff_events()
    assert sorted(e["wave"] for e in events) == [1, 2, 3]
    by_wave = {m["wave"]: m for m in moves}
    for event in events:
        move = by_wave[event["wave"]]
        assert event["plan_id"] == plan_id and event["due_on"] == move["handoff_on"]
        assert [(m["account"], m["from"], m["to"], m["handoff_on"]) for m in event["moves"]] == [
            (move["account"], move["from"], move["to"], move["handoff_on"])
        ]
    for headers, body in _Receiver.received:
        assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    with db.session() as session:
        notices = session.execute(
            text("SELECT wave, status, attempts FROM handoff_notice ORDER BY wave")
        ).all()
    assert [tuple(n) for n in notices] == [(1, "delivered", 1), (2, "delivered", 1), (3, "delivered", 1)]
