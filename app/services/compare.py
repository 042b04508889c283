"""Plans side by side: each plan's figures (moves, largest utilization and its bound, CSMs out of band,
fairness) and every CSM's hours and ARR in each, with the CSMs whose figures differ marked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.errors import BookError, Conflict, NotFound
from app.models import PlanJob
from app.services.snapshots import input_book_text
from solver.plan_figures import csms_out_of_band
from solver.schema import Book, Plan

_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
MIN_PLANS, MAX_PLANS = 2, 4
# Hours and ARR that differ by less than this are the same figure (rounding).
SAME_HOURS, SAME_ARR = 0.05, 0.5
HEADLINE = (
    "moves",
    "max_moves",
    "unassigned",
    "max_utilization",
    "max_utilization_bound",
    "csms_out_of_band",
    "status",
)


def parse_ids(ids: str) -> list[str]:
    """`A,B[,C,D]`: two to four distinct plan ids (bad input otherwise, naming the value)."""
    parsed = [i.strip() for i in ids.split(",") if i.strip()]
    if not MIN_PLANS <= len(parsed) <= MAX_PLANS or len(set(parsed)) != len(parsed):
        raise BookError(
            f"ids: give {MIN_PLANS} to {MAX_PLANS} distinct plan ids separated by commas (got {ids!r})",
            field="ids",
            value=ids,
        )
    return parsed


def load_plans(session: Session, ids: list[str]) -> list[tuple[dict[str, Any], Book, Plan]]:
    """Each job row with its book and plan, in the order asked; an unknown id is 404 naming it, a plan not
    finished is 409."""
    rows = {
        r.id: r
        for r in session.execute(
            select(
                _JOBS.c.id,
                _JOBS.c.status,
                _JOBS.c.kind,
                _JOBS.c.parent,
                _JOBS.c.source,
                _JOBS.c.scenario,
                _JOBS.c.input_book,
                _JOBS.c.book_sha256,
                _JOBS.c.input_policy,
                _JOBS.c.plan,
                _JOBS.c.created_at,
            ).where(_JOBS.c.id.in_(ids))
        ).all()
    }
    out = []
    for plan_id in ids:
        row = rows.get(plan_id)
        if row is None:
            raise NotFound(f"plan {plan_id!r} does not exist", field="ids", value=plan_id)
        if row.plan is None:
            raise Conflict(
                f"plan {plan_id!r} is {row.status}: only finished plans can be compared",
                field="ids",
                value=plan_id,
            )
        out.append(
            (
                dict(row._mapping),
                Book.model_validate_json(input_book_text(session, dict(row._mapping))),
                Plan.model_validate_json(row.plan),
            )
        )
    return out


def plan_figures(row: dict[str, Any], book: Book, plan: Plan) -> dict[str, Any]:
    """One plan's headline figures."""
    return {
        "id": row["id"],
        "url": f"/v1/plans/{row['id']}",
        "kind": row["kind"],
        "parent": row["parent"],
        "scenario": row["scenario"] is not None or row["source"] != "stored",
        "status": plan.status,
        "moves": len(plan.moves),
        "unassigned": len(plan.unassigned),
        "max_utilization": plan.max_utilization,
        "max_utilization_bound": plan.max_utilization_bound,
        "gap": plan.gap,
        "csms_out_of_band": csms_out_of_band(book, plan),
        "max_moves": book.policy.max_moves,
        "fairness": [f.model_dump(mode="json") for f in plan.fairness],
    }


def csm_rows(plans: list[tuple[dict[str, Any], Book, Plan]]) -> list[dict[str, Any]]:
    """Every CSM of any plan, with hours, utilization and ARR in each (None where a plan lacks the CSM),
    and whether the plans differ for that CSM."""
    order: list[str] = []
    names: dict[str, str | None] = {}
    for _row, book, _plan in plans:
        for csm in book.csms:
            if csm.id not in names:
                order.append(csm.id)
                names[csm.id] = csm.name
    loads = [{load.csm: load for load in plan.csm_loads} for _row, _book, plan in plans]
    out = []
    for csm_id in order:
        cells = [
            None
            if (load := by_csm.get(csm_id)) is None
            else {
                "hours": load.hours,
                "utilization": load.utilization,
                "arr": load.arr,
                "accounts": load.accounts,
            }
            for by_csm in loads
        ]
        out.append({"csm": csm_id, "name": names[csm_id], "plans": cells, "differs": _differs(cells)})
    return out


def _differs(cells: list[dict[str, Any] | None]) -> bool:
    if any(c is None for c in cells):
        return any(c is not None for c in cells)
    hours = [c["hours"] for c in cells if c is not None]
    arr = [c["arr"] for c in cells if c is not None]
    return max(hours) - min(hours) > SAME_HOURS or max(arr) - min(arr) > SAME_ARR


def compare_plans(session: Session, ids: str) -> dict[str, Any]:
    """The plans named in `ids`, side by side (CONTRACT.md: GET /v1/plans/compare)."""
    plans = load_plans(session, parse_ids(ids))
    figures = [plan_figures(row, book, plan) for row, book, plan in plans]
    differs = {key: len({str(f[key]) for f in figures}) > 1 for key in HEADLINE}
    return {"plans": figures, "differs": differs, "csms": csm_rows(plans)}
