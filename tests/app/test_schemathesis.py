"""Schemathesis against the app's own OpenAPI document: no 500, every response matches the schema."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import make_keys, service_settings, small_book
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.db import Database, migrate
from app.main import create_app
from app.services.book import replace_book
from solver.schema import Book

# What the issue asks: never a 5xx, and every answer (status, content type, headers, body) as documented.
# (Schemathesis's negative-data checks are left out: unknown query parameters are ignored, as HTTP allows.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Bounded so the whole run stays well under a minute on two shared cores.
MAX_EXAMPLES = 12
GAP_EXAMPLES = 25

# Schemathesis loads the schema (and starts the app's lifespan) when the module loads, so the database is
# migrated and given a book and a key here.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="bookplan-schemathesis-"))
_URL = f"sqlite:///{_DIRECTORY / 'bookplan.db'}"
migrate(_URL)
_KEY = make_keys(_URL)["ops"]
_db = Database(_URL)
with _db.write_session() as _session:
    replace_book(_session, Book.model_validate(small_book()), "schemathesis")
_db.dispose()
# Jobs stay queued (no runner thread): the API is under test here, the runner elsewhere.
APP = create_app(
    service_settings(
        _URL, runner_concurrency=0, solve_time_limit_seconds=1, job_hard_deadline_grace_seconds=5
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def ops_key() -> Iterator[str]:
    yield _KEY
    shutil.rmtree(_DIRECTORY, ignore_errors=True)


def _settings(max_examples: int, *phases: Phase) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )


@schema.exclude(path_regex="hiring-gaps").parametrize()
@_settings(MAX_EXAMPLES, Phase.explicit, Phase.generate)
def test_the_api_never_fails_and_always_answers_in_its_schema(case: Any, ops_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ops_key}"}, checks=CHECKS)


# Each hiring-gap request runs the report in a child process: generated examples only there (the
# explicit phase adds Schemathesis's ~500 boundary cases per body, a minute and a half of packing).
@schema.include(path_regex="hiring-gaps").parametrize()
@_settings(GAP_EXAMPLES, Phase.generate)
def test_the_hiring_gap_routes_never_fail_and_answer_in_their_schema(case: Any, ops_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ops_key}"}, checks=CHECKS)
