"""The service as it is deployed: every setting at its default (the API-key cache on, plan jobs on
`bookplan worker` processes through PostgreSQL, the real engine, forkserver children), with nothing
overridden for speed. One plan goes through the whole path, and the key cache is seen doing its job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from workers_helpers import Api, small_book

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.services.keys import create_key, revoke_key

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


@pytest.fixture
def default_worker(pg_url: str, db: Database) -> Iterator[subprocess.Popen[bytes]]:
    """The installed `bookplan worker`, given only DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKPLAN_")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "bookplan"), "worker"],
        env={**env, "DATABASE_URL": pg_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_plan_runs_on_a_worker_and_is_approved_with_every_setting_at_its_default(
    pg_url: str, db: Database, default_worker: subprocess.Popen[bytes]
) -> None:
    settings = Settings(database_url=pg_url)
    assert settings.api_key_cache_seconds > 0 and settings.uses_workers
    with db.session() as session:
        key = create_key(session, ["ops"], name="deployed-ops")[1]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, key, client.app.state.db)  # type: ignore[attr-defined]
        assert api.request("PUT", "/v1/book", json=small_book("deployed")).status_code == 200
        answer = api.request("POST", "/v1/plans", json={})
        assert answer.status_code == 202, answer.text
        job = api.wait_for(answer.json()["id"], ("succeeded", "failed"), timeout=120)
        assert job["status"] == "succeeded", job
        assert job["plan"]["status"] in ("optimal", "feasible") and job["plan"]["moves"]
        approved = api.request("POST", f"/v1/plans/{job['id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["applied_moves"] == len(job["plan"]["moves"])


def test_the_default_key_cache_serves_repeats_without_the_database_and_drops_a_revoked_key_in_time(
    pg_url: str, db: Database
) -> None:
    settings = Settings(database_url=pg_url)
    with db.session() as session:
        key = create_key(session, ["ops"], name="deployed-ops")[1]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, key, client.app.state.db)  # type: ignore[attr-defined]
        lookups: list[str] = []
        event.listen(
            api.db.engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, *rest: (
                lookups.append(statement) if "FROM api_key" in statement else None
            ),
        )
        for _ in range(4):
            assert api.request("GET", "/v1/book/summary").status_code == 200
        assert len(lookups) == 1
        with db.session() as session:
            revoke_key(session, "deployed-ops")
        assert api.request("GET", "/v1/book/summary").status_code == 200  # still cached
        time.sleep(settings.api_key_cache_seconds + 0.5)
        assert api.request("GET", "/v1/book/summary").status_code == 401
        assert len(lookups) == 2
