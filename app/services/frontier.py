"""A frontier job's points: each stored as a plan of its own (kind "point", parent the frontier job) that
can be read, compared and approved, and listed in the frontier job's `frontier` as it is finished."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from sqlalchemy import insert, select, update

from app.core.db import Database
from app.models import PlanJob, PlanMove, utcnow
from app.services.snapshots import solved_book
from solver.schema import Book

_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]


def point_book(input_book: str, max_moves: int | None, seconds: float) -> str:
    """The frontier job's book with the point's move budget (the book the point's plan answers) and the
    time its solve took as its time limit (what a re-plan of the point gets, not the whole frontier's)."""
    data = json.loads(input_book)
    policy = data.setdefault("policy", {})
    policy["time_limit_seconds"] = point_time_limit(seconds)
    if max_moves is None:
        policy.pop("max_moves", None)
    else:
        policy["max_moves"] = max_moves
    return json.dumps(data, separators=(",", ":"))


def point_time_limit(seconds: float) -> float:
    """A point's time limit: the seconds its solve took, rounded up to a whole second (at least one)."""
    return float(max(1, math.ceil(seconds)))


def store_point(
    db: Database,
    frontier_id: str,
    max_moves: int | None,
    plan_json: str,
    summary: dict[str, Any],
    figures: dict[str, Any],
) -> str | None:
    """File one finished point: a succeeded plan row with its moves, and its figures in the frontier job's
    list (a point re-sent for the same budget replaces the earlier one). Nothing is filed once the
    frontier job has stopped running (cancelled: the points finished before stay)."""
    from app.services.plans import input_sha256

    with db.writing() as session:
        job = session.execute(
            select(PlanJob).where(PlanJob.id == frontier_id).with_for_update()  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if job is None or job.status != "running":
            return None
        book_text = point_book(
            solved_book(session, frontier_id).model_dump_json(by_alias=True, exclude_unset=True),
            max_moves,
            summary["seconds"],
        )
        point_id = uuid.uuid4().hex
        now = utcnow()
        overrides = dict(job.policy_overrides or {})
        overrides["max_moves"] = max_moves
        session.execute(
            insert(_JOBS).values(
                id=point_id,
                kind="point",
                parent=frontier_id,
                status="succeeded",
                source=job.source,
                requested_by=job.requested_by,
                created_at=now,
                started_at=job.started_at,
                finished_at=now,
                book_revision=job.book_revision,
                input_sha256=input_sha256(Book.model_validate_json(book_text)),
                time_limit_seconds=point_time_limit(summary["seconds"]),
                input_book=book_text,
                base_policy=job.base_policy,
                policy_overrides=overrides,
                accounts=job.accounts,
                csms=job.csms,
                progress={
                    "phase": "done",
                    "max_utilization": summary["max_utilization"],
                    "max_utilization_bound": summary["max_utilization_bound"],
                    "moves": len(summary["moves"]),
                    "unassigned": summary["unassigned"],
                },
                plan_status=summary["status"],
                plan=plan_json,
                attempts=1,
                scenario=job.scenario,
                note=f"frontier {frontier_id}, budget {'none' if max_moves is None else max_moves}",
            )
        )
        moves = [{"plan_id": point_id, "seq": i, **move} for i, move in enumerate(summary["moves"])]
        if moves:
            session.execute(insert(_MOVES), moves)
        point = {**figures, "plan_id": point_id}
        points = [p for p in (job.frontier or []) if p.get("max_moves") != max_moves]
        points.append(point)
        points.sort(key=_budget_order)
        session.execute(update(_JOBS).where(_JOBS.c.id == frontier_id).values(frontier=points))
    return point_id


def _budget_order(point: dict[str, Any]) -> float:
    budget = point.get("max_moves")
    return float("inf") if budget is None else float(budget)
