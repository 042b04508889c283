"""Retention: `bookplan purge --older-than 90d` deletes old finished plans (not approved ones, not the
audit log) and the book snapshots no plan needs; the daily setting runs it once a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import Api, small_book
from sqlalchemy import func, select, update

from app.cli import main
from app.core.config import Settings
from app.models import AuditEvent, BookSnapshot, PlanJob, PlanMove, utcnow
from app.services.retention import DailyPurge

OLD = utcnow() - dt.timedelta(days=120)


def _count(api: Api, table: Any, *where: Any) -> int:
    with api.db.session() as session:
        return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _solved(api: Api) -> str:
    plan_id = str(api.post("/v1/plans", json={}).json()["id"])
    assert api.wait_for(plan_id, ("succeeded",))["plan"]["moves"]
    return plan_id


def test_purge_deletes_old_unapproved_plans_and_keeps_approved_ones_recent_ones_and_the_audit(
    make_api: Any, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    api: Api = make_api()
    api.put("/v1/book", json=small_book())
    old_unapproved = _solved(api)
    old_approved = _solved(api)
    assert api.post(f"/v1/plans/{old_approved}/approve").status_code == 200
    api.put("/v1/book", json=small_book(accounts=5))  # a new book: the old plans' snapshot is theirs alone
    recent = _solved(api)
    jobs = PlanJob.__table__  # type: ignore[attr-defined]
    with api.db.writing() as session:
        session.execute(update(jobs).where(jobs.c.id != recent).values(created_at=OLD))
        session.execute(update(BookSnapshot.__table__).values(created_at=OLD))  # type: ignore[attr-defined]
    audit_before = _count(api, AuditEvent)

    assert main(["purge", "--older-than", "90d", "--database-url", database_url]) == 0
    assert "purged 1 plan jobs" in capsys.readouterr().err
    assert api.get(f"/v1/plans/{old_unapproved}").status_code == 404
    assert _count(api, PlanMove, PlanMove.plan_id == old_unapproved) == 0  # type: ignore[arg-type]
    assert api.get(f"/v1/plans/{old_approved}").json()["approved_at"] is not None
    assert api.get(f"/v1/plans/{recent}").status_code == 200
    assert _count(api, AuditEvent) == audit_before
    # The approved plan still needs the old book's snapshot, the recent one its own.
    assert _count(api, BookSnapshot) == 2
    assert main(["purge", "--older-than", "30", "--database-url", database_url]) == 0
    assert main(["purge", "--older-than", "soon", "--database-url", database_url]) == 2


def test_the_daily_purge_runs_once_a_day_and_only_when_set(api: Api, database_url: str) -> None:
    api.put("/v1/book", json=small_book())
    plan_id = str(api.post("/v1/plans", json={"policy": {"time_limit_seconds": 1}}).json()["id"])
    api.wait_for(plan_id, ("succeeded", "failed"))
    jobs = PlanJob.__table__  # type: ignore[attr-defined]
    with api.db.writing() as session:
        session.execute(update(jobs).values(created_at=OLD))
    daily = DailyPurge()
    assert daily.run_if_due(api.db, Settings(database_url=database_url)) is None  # off by default
    on = Settings(database_url=database_url, purge_daily=True)
    now = utcnow()
    first = daily.run_if_due(api.db, on, now)
    assert first is not None and first.plans == 1
    assert daily.run_if_due(api.db, on, now + dt.timedelta(hours=23)) is None
    assert daily.run_if_due(api.db, on, now + dt.timedelta(hours=25)) is not None
