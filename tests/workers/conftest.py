"""Fixtures for the distributed-runner tests: a fresh PostgreSQL database for the session (dropped at the
end), emptied between tests; `bookplan worker` subprocesses; the API with the procrastinate runner.

Workers heartbeat every 0.3 s, count as dead after 1.5 s of silence and tick every 0.3 s, so a killed
worker's job moves within a few seconds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from workers_helpers import TABLES, Api, Workers, settings_for

from app.core.db import Database, migrate
from app.main import create_app
from app.services.keys import create_key

ADMIN_URL = os.environ.get("BOOKPLAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=2).close()
    except psycopg.Error:
        pytest.fail(f"PostgreSQL is not answering at {ADMIN_URL} (start it, or run -m 'not postgres')")
    name = f"bookplan_workers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    with database.writing() as session:
        session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        session.execute(
            text("UPDATE book_state SET revision = 0, policy = '{}', pairs = '[]', updated_by = NULL")
        )
        # A schedule that fires nothing unless a test says so.
        session.execute(
            text(
                "UPDATE plan_schedule SET enabled = false, active_since = now(), timezone = NULL, "
                "cron = '0 6 1 1,4,7,10 *', auto_approve = false, max_moves = NULL, time_limit_seconds = NULL"
            )
        )
    yield database
    database.dispose()


@pytest.fixture
def workers(pg_url: str, db: Database, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(pg_url, tmp_path / "runs.log")
    yield group
    group.stop_all()


@pytest.fixture
def make_api(pg_url: str, db: Database) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []
    with db.session() as session:
        key = create_key(session, ["ops"], name="test-ops")[1]

    def build(**overrides: Any) -> Api:
        client = TestClient(create_app(settings_for(pg_url, **overrides)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Api(client, key, client.app.state.db)  # type: ignore[attr-defined]

    yield build
    for client in clients:
        client.__exit__(None, None, None)
