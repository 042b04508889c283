"""Pages for deciding a rebalance: the frontier chart on a frontier plan's page, the tick boxes that re-plan
around vetoes, what a re-plan changed against its parent, and plans side by side.

The chart is inline SVG (moves across, largest utilization and CSMs out of band up, the ARR spread when the
plans report fairness), each point a link to its plan; the table beneath it is its text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.errors import BookError, Conflict, NotFound
from app.models import PlanJob, PlanMove, ReplanRequest
from app.pages.common import OPS, PLAN_READERS, _error_page, _not_found, guard, guard_post, posted, render
from app.services import compare as compare_service
from app.services import replan as replan_service

router = APIRouter(include_in_schema=False)
_MOVES = PlanMove.__table__  # type: ignore[attr-defined]

# The chart's drawing area, in SVG units.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 56, 56, 16, 40


@dataclass
class Series:
    """One line of the frontier chart: its points in SVG units, and its axis labels."""

    name: str
    css: str
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, label
    ticks: list[tuple[float, str]] = field(default_factory=list)  # y, label

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


def _scale(value: float, low: float, high: float, top: float, bottom: float) -> float:
    """`value` between `low` and `high` as a height from `bottom` (low) up to `top` (high)."""
    if high - low < 1e-12:
        return (top + bottom) / 2
    return bottom - (value - low) / (high - low) * (bottom - top)


def arr_spread(fairness: list[dict[str, Any]]) -> float | None:
    """The widest ARR-per-capacity-hour spread of any pool after the plan, when fairness is reported."""
    spreads = [
        f["after"]["max"] - f["after"]["min"] for f in fairness if f.get("metric") == "arr" and f.get("after")
    ]
    return max(spreads) if spreads else None


def frontier_chart(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The frontier's chart: x = moves, one series each for largest utilization, CSMs out of band and (with
    fairness) ARR spread, each scaled to the chart's height, and the points as links to their plans."""
    if not points:
        return None
    moves = [p["moves"] for p in points]
    low_x, high_x = min(moves), max(moves)
    bottom = HEIGHT - BOTTOM

    def x_of(m: int) -> float:
        if high_x == low_x:
            return (LEFT + WIDTH - RIGHT) / 2
        return LEFT + (m - low_x) / (high_x - low_x) * (WIDTH - LEFT - RIGHT)

    series = []
    wanted = [
        ("Largest utilization", "util", [p.get("max_utilization") for p in points], lambda v: f"{v:.1%}"),
        ("CSMs out of band", "band", [p.get("csms_out_of_band") for p in points], lambda v: f"{v:.0f}"),
        (
            "ARR spread per capacity hour",
            "arr",
            [arr_spread(p.get("fairness") or []) for p in points],
            lambda v: f"{v:,.0f}",
        ),
    ]
    for name, css, values, fmt in wanted:
        known = [v for v in values if v is not None]
        if not known:
            continue
        low, high = min(known), max(known)
        line = Series(name, css)
        for p, v in zip(points, values, strict=True):
            if v is not None:
                line.points.append((x_of(p["moves"]), _scale(v, low, high, TOP, bottom), fmt(v)))
        line.ticks = [
            (_scale(low, low, high, TOP, bottom), fmt(low)),
            (_scale(high, low, high, TOP, bottom), fmt(high)),
        ]
        series.append(line)
    links = [
        {
            "x": x_of(p["moves"]),
            "href": f"/plans/{p['plan_id']}",
            "label": f"{p['moves']} moves",
            "budget": "no limit" if p["max_moves"] is None else p["max_moves"],
        }
        for p in points
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": bottom,
        "series": series,
        "links": links,
        "x_ticks": [(x_of(m), m) for m in sorted(set(moves))],
        "compare": ",".join(p["plan_id"] for p in _spread_pick(points, compare_service.MAX_PLANS)),
    }


def _spread_pick(points: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Up to `n` points spread along the curve (the ends always), for a comparison link."""
    if len(points) <= n:
        return points
    step = (len(points) - 1) / (n - 1)
    return [points[round(i * step)] for i in range(n)]


def parent_changes(db: Any, row: PlanJob, plan: dict[str, Any]) -> dict[str, Any] | None:
    """For a re-plan: its parent and what changed against it (moves dropped, added, sent elsewhere)."""
    if row.parent is None or row.kind == "point":
        return None
    with db.session() as session:
        parent_moves = session.execute(
            select(_MOVES.c.account, _MOVES.c.from_csm, _MOVES.c.to_csm).where(_MOVES.c.plan_id == row.parent)
        ).all()
    before = [{"account": m.account, "from": m.from_csm, "to": m.to_csm} for m in parent_moves]
    after = [{"account": m["account"], "from": m["from"], "to": m["to"]} for m in plan.get("moves", [])]
    return {"parent": row.parent, "note": row.note, **replan_service.changes_against_parent(before, after)}


@router.get("/plans/compare")
def compare_page(request: Request, ids: str = "") -> Response:
    page = guard(request, PLAN_READERS, "comparing plans")
    if isinstance(page, Response):
        return page
    try:
        with request.app.state.db.session() as session:
            comparison = compare_service.compare_plans(session, ids)
    except NotFound as exc:
        return _not_found(request, page, exc.message)
    except (BookError, Conflict) as exc:
        return _error_page(request, page, exc, 422 if isinstance(exc, BookError) else 409)
    return render(request, "compare.html", {"session": page, "comparison": comparison})


@router.post("/plans/{plan_id}/replan")
async def replan_form(request: Request, plan_id: str) -> Response:
    return await posted(request, _replan, plan_id)


def _replan(request: Request, form: Any, plan_id: str) -> Response:
    """The review page's tick boxes: re-plan without the ticked moves, or keeping them."""
    page = guard_post(request, form, OPS, "re-planning")
    if isinstance(page, Response):
        return page
    ticked = [v for v in form.getlist("moves") if isinstance(v, str)]
    action = form.get("action")
    body = {"reject": ticked} if action == "reject" else {"keep": ticked}
    try:
        created = replan_service.replan(
            request.app.state.db,
            request.app.state.runner,
            request.app.state.settings,
            plan_id,
            ReplanRequest.model_validate(body),
            page.principal,
        )
    except NotFound as exc:
        return _not_found(request, page, exc.message)
    except (BookError, Conflict) as exc:
        message = "Tick at least one move first." if not ticked else exc.message
        return RedirectResponse(f"/plans/{plan_id}?error={quote(message)}#moves", status_code=303)
    return RedirectResponse(f"/plans/{created.id}", status_code=303)
