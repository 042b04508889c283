"""Where plan jobs run: workers on PostgreSQL by default, the service itself on SQLite."""

from __future__ import annotations

from app.core.config import Settings

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bookplan"


def test_plan_jobs_go_to_workers_by_default_when_the_database_is_postgresql() -> None:
    assert Settings(database_url=POSTGRES).uses_workers


def test_the_embedded_sqlite_default_solves_in_the_service_whatever_the_runner_setting() -> None:
    assert not Settings(database_url="sqlite:///var/x.db").uses_workers
    assert not Settings(database_url="sqlite:///var/x.db", runner="procrastinate").uses_workers


def test_postgresql_can_keep_solving_in_the_service_when_asked() -> None:
    assert not Settings(database_url=POSTGRES, runner="inprocess").uses_workers
