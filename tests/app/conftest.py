"""Fixtures for the service tests: a migrated database on SQLite and on PostgreSQL, the app on it, keys.

PostgreSQL tests use a fresh database per test session (`bookplan_test_<random>`, dropped at the end) on
the server at 127.0.0.1:5432; tables are emptied between tests. SQLite tests copy a migrated file.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import Database, migrate
from app.main import create_app
from app.services.keys import create_key

POSTGRES_ADMIN_URL = os.environ.get("BOOKPLAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = (
    "handoff_notice",
    "plan_move",
    "audit_event",
    "idempotency_key",
    "plan_job",
    "book_snapshot",
    "page_session",
    "account",
    "csm",
    "api_key",
)
AS_OF = "2026-11-22"


def _postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bookplan.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    import psycopg

    if not _postgres_available():
        pytest.fail(
            f"PostgreSQL is not answering at {POSTGRES_ADMIN_URL} (start it, or run -m 'not postgres')"
        )
    name = f"bookplan_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _empty_postgres(url: str) -> None:
    db = Database(url)
    try:
        with db.writing() as session:
            session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            session.execute(
                text("UPDATE book_state SET revision = 0, policy = '{}', pairs = '[]', updated_by = NULL")
            )
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "bookplan.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


def service_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "solve_time_limit_seconds": 5,
        "job_hard_deadline_grace_seconds": 10,
        "cancel_grace_seconds": 1,
        "runner_poll_seconds": 0.2,
        "api_key_cache_seconds": 0,
        "cp_sat_workers": 1,
        # These tests exercise the embedded runner on both databases; tests/workers covers the workers.
        "runner": "inprocess",
        **overrides,
    }
    return Settings(**values)


class Api:
    """A TestClient with a key per scope: `api.get(path, scope="hr")`; `scope=None` sends no key."""

    def __init__(self, client: TestClient, keys: dict[str, str], db: Database) -> None:
        self.client = client
        self.keys = keys
        self.db = db

    def _headers(self, scope: str | None, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if scope is not None:
            out["Authorization"] = f"Bearer {self.keys[scope]}"
        return out

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str | None = "ops",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.client.request(method, path, headers=self._headers(scope, headers), **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def wait_for(self, plan_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/v1/plans/{plan_id}").json()
            if job["status"] in statuses:
                return job  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"plan {plan_id} still {job['status']} after {timeout} s: {job}")
            time.sleep(0.1)


def make_keys(database_url: str) -> dict[str, str]:
    db = Database(database_url)
    try:
        keys = {}
        for scope in ("ops", "hr", "scheduler"):
            with db.session() as session:
                keys[scope] = create_key(session, [scope], name=f"test-{scope}")[1]
        return keys
    finally:
        db.dispose()


@pytest.fixture
def make_api(database_url: str) -> Iterator[Callable[..., Api]]:
    """Builds the app on the test database with settings overrides, started (lifespan) until the test ends."""
    clients: list[TestClient] = []
    keys = make_keys(database_url)

    def build(**overrides: Any) -> Api:
        settings = service_settings(database_url, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Api(client, keys, client.app.state.db)  # type: ignore[attr-defined]

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def small_book(accounts: int = 6, **policy: Any) -> dict[str, Any]:
    """Two enterprise CSMs in NA, one overloaded: a plan moves accounts from c-lee to c-dana."""
    return {
        "accounts": [
            {
                "id": f"a{i}",
                "name": f"Account {i}",
                "arr": 100_000 + i * 1000,
                "tier": "enterprise",
                "region": "NA",
                "current_csm": "c-lee",
            }
            for i in range(accounts)
        ],
        "csms": [
            {
                "id": "c-dana",
                "name": "Dana",
                "tiers": ["enterprise"],
                "regions": ["NA"],
                "capacity_hours": 440,
            },
            {"id": "c-lee", "name": "Lee", "tiers": ["enterprise"], "regions": ["NA"], "capacity_hours": 440},
        ],
        "policy": {"as_of": AS_OF, **policy},
    }
