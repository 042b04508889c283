"""Schemathesis against the app's own OpenAPI document, on SQLite and on PostgreSQL, with a real runner:
no 500, every response matches the schema, and generated bad input (negative data) is refused with a 4xx.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import POSTGRES_ADMIN_URL, make_keys, service_settings, small_book
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.db import Database, migrate
from app.main import create_app
from app.services.book import replace_book
from solver.schema import Book

# What the issue asks: never a 5xx, and every answer (status, content type, headers, body) as documented.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Negative data (a wrong type, a value out of range, a missing field) must be refused with a 4xx.
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]

# Bounded so the whole run stays around a minute on two shared cores.
MAX_EXAMPLES = 12
NEGATIVE_EXAMPLES = 6
GAP_EXAMPLES = 12


def _postgres_url() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2) as conn:
            name = f"bookplan_schemathesis_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class Service:
    """A migrated database with a book, an ops key and a solved plan, and the app on it with a runner."""

    def __init__(self, url: str) -> None:
        self.url = url
        migrate(url)
        self.key = make_keys(url)["ops"]
        db = Database(url)
        with db.write_session() as session:
            replace_book(session, Book.model_validate(small_book()), "schemathesis")
        db.dispose()
        self.app = create_app(
            service_settings(url, solve_time_limit_seconds=1, job_hard_deadline_grace_seconds=5)
        )
        self.solved_plan = self._solve_one()

    def _solve_one(self) -> str:
        """A finished plan, so approve, read and cancel meet a real one (the runner solves it)."""
        with TestClient(self.app) as client:
            headers = {"Authorization": f"Bearer {self.key}"}
            plan_id = str(client.post("/v1/plans", json={}, headers=headers).json()["id"])
            deadline = time.monotonic() + 60
            while client.get(f"/v1/plans/{plan_id}", headers=headers).json()["status"] != "succeeded":
                assert time.monotonic() < deadline, "the seed plan did not solve"
                time.sleep(0.1)
        return plan_id

    def schema(self, negative: bool = False) -> Any:
        schema = schemathesis.openapi.from_asgi("/openapi.json", self.app)
        if negative:
            # The key is sent by the test itself: negating the security header would be undone by it.
            schema.config.generation.update(
                modes=[GenerationMode.NEGATIVE], allow_extra_parameters=False, with_security_parameters=False
            )
        return schema


# Schemathesis loads the schema (and starts the app's lifespan) when the module loads, so the databases
# are prepared here.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="bookplan-schemathesis-"))
SQLITE = Service(f"sqlite:///{_DIRECTORY / 'bookplan.db'}")
_PG_URL = _postgres_url()
POSTGRES = Service(_PG_URL) if _PG_URL is not None else None
SERVICES = {"sqlite": SQLITE, "postgres": POSTGRES}


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    shutil.rmtree(_DIRECTORY, ignore_errors=True)
    if _PG_URL is not None:
        import psycopg

        name = _PG_URL.rsplit("/", 1)[1]
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _settings(max_examples: int, *phases: Phase) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )


def _call(service: Service | None, case: Any, checks: list[Any]) -> None:
    if service is None:
        pytest.fail(
            f"PostgreSQL is not answering at {POSTGRES_ADMIN_URL} (start it, or run -m 'not postgres')"
        )
    if "plan_id" in (case.path_parameters or {}):
        case.path_parameters["plan_id"] = service.solved_plan  # a real, finished plan
    case.call_and_validate(headers={"Authorization": f"Bearer {service.key}"}, checks=checks)


BACKENDS = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)


def _positive(backend_schema: Any) -> Any:
    return backend_schema.exclude(path_regex="hiring-gaps").parametrize()


@BACKENDS
@_positive(SQLITE.schema())
@_settings(MAX_EXAMPLES, Phase.explicit, Phase.generate)
def test_the_api_never_fails_and_always_answers_in_its_schema(case: Any, backend: str) -> None:
    _call(SERVICES[backend], case, CHECKS)


@BACKENDS
@SQLITE.schema(negative=True).exclude(path_regex="hiring-gaps").parametrize()
@_settings(NEGATIVE_EXAMPLES, Phase.generate)
def test_generated_bad_input_is_refused_with_a_4xx_never_a_5xx(case: Any, backend: str) -> None:
    _call(SERVICES[backend], case, NEGATIVE_CHECKS)


# Each hiring-gap request runs the report in a child process: generated examples only there (the
# explicit phase adds Schemathesis's ~500 boundary cases per body, a minute and a half of packing).
@BACKENDS
@SQLITE.schema().include(path_regex="hiring-gaps").parametrize()
@_settings(GAP_EXAMPLES, Phase.generate)
def test_the_hiring_gap_routes_never_fail_and_answer_in_their_schema(case: Any, backend: str) -> None:
    _call(SERVICES[backend], case, CHECKS)
