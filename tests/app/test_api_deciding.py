"""Deciding a rebalance over the API: the frontier as stored plans, re-plans around vetoes, partial
approval checked against every hard rule, plans side by side, and scenarios that are never approved."""

from __future__ import annotations

import itertools
import time
from typing import Any

from conftest import AS_OF, Api

from app.models import Scenario
from app.services.scenario import apply_scenario
from solver.frontier import with_budget
from solver.plan_figures import rank
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan


def lopsided_book(accounts: int = 16) -> dict[str, Any]:
    """Lee carries 16 accounts (80 %), Dana none; Sam has left and his account must move."""
    return {
        "accounts": [
            {
                "id": f"a{i:02d}",
                "arr": 100_000 + i,
                "tier": "enterprise",
                "hours_per_year": 50,
                "current_csm": "c-lee",
            }
            for i in range(accounts)
        ]
        + [{"id": "s0", "arr": 90_000, "tier": "enterprise", "hours_per_year": 50, "current_csm": "c-sam"}],
        "csms": [
            {"id": "c-lee", "name": "Lee", "tiers": ["enterprise"], "capacity_hours": 1000},
            {"id": "c-dana", "name": "Dana", "tiers": ["enterprise"], "capacity_hours": 1000},
            {
                "id": "c-sam",
                "name": "Sam",
                "tiers": ["enterprise"],
                "capacity_hours": 1000,
                "end_date": "2026-11-01",
            },
        ],
        "policy": {"as_of": AS_OF, "time_limit_seconds": 8},
    }


def _start(api: Api, body: dict[str, Any]) -> str:
    answer = api.post("/v1/plans", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def _finished(api: Api, body: dict[str, Any], book: dict[str, Any] | None = None) -> dict[str, Any]:
    """The finished job; with `book` (the book it planned), its plan re-checked by the validator."""
    job = api.wait_for(_start(api, body), ("succeeded", "failed", "cancelled"))
    assert job["status"] == "succeeded", job
    if book is not None:
        planned = Book.model_validate(book)
        overrides = job["policy_overrides"] or {}
        if overrides:
            planned = planned.model_copy(update={"policy": planned.policy.model_copy(update=overrides)})
        assert_valid_plan(planned, Plan.model_validate(job["plan"]))
    return job


def _book_and_plan(api: Api, plan_id: str, stored: dict[str, Any]) -> tuple[Book, Plan]:
    job = api.get(f"/v1/plans/{plan_id}").json()
    book = Book.model_validate(stored)
    book = with_budget(book, (job["policy_overrides"] or {}).get("max_moves"))
    return book, Plan.model_validate(job["plan"])


def test_a_frontier_job_stores_each_point_as_a_plan_valid_within_its_budget_and_monotone(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    job = _finished(api, {"frontier": True})
    assert job["kind"] == "frontier"
    points = job["frontier"]
    assert len(points) >= 6, points
    assert points[0]["moves"] == 1 and points[-1]["max_moves"] is None
    ranks = []
    for point in points:
        assert set(point) >= {
            "max_moves",
            "moves",
            "max_utilization",
            "csms_out_of_band",
            "fairness",
            "plan_id",
        }
        read = api.get(f"/v1/plans/{point['plan_id']}").json()
        assert read["kind"] == "point" and read["parent"] == job["id"] and read["status"] == "succeeded"
        assert read["time_limit_seconds"] <= job["time_limit_seconds"]
        book, plan = _book_and_plan(api, point["plan_id"], stored)
        assert_valid_plan(book, plan)
        assert len(plan.moves) == point["moves"]
        if point["max_moves"] is not None:
            assert point["moves"] <= point["max_moves"]
        ranks.append(rank(Book.model_validate(stored), plan))
    for smaller, larger in itertools.pairwise(ranks):
        assert larger <= smaller
    # The frontier job's own plan is the unconstrained point's.
    assert len(job["plan"]["moves"]) == points[-1]["moves"]
    # A point can be approved like any other plan.
    chosen = points[2]
    approved = api.post(f"/v1/plans/{chosen['plan_id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["applied_moves"] == chosen["moves"]


def test_a_frontier_on_a_book_that_needs_no_moves_has_one_point(api: Api) -> None:
    stored = lopsided_book(accounts=2)
    stored["accounts"] = stored["accounts"][:2]
    stored["accounts"][1]["current_csm"] = "c-dana"
    api.put("/v1/book", json=stored)
    job = _finished(api, {"frontier": True})
    assert [p["moves"] for p in job["frontier"]] == [0]


def test_a_frontier_on_an_infeasible_book_answers_with_the_diagnosis(api: Api) -> None:
    stored = lopsided_book()
    for account in stored["accounts"][:12]:
        account["pinned"] = True
    stored["csms"][0]["capacity_hours"] = 500  # twelve pinned 50 h accounts: 600 h on 500 h
    api.put("/v1/book", json=stored)
    job = _finished(api, {"frontier": True})
    assert job["plan_status"] == "infeasible"
    assert job["plan"]["diagnosis"] and "c-lee" in job["plan"]["diagnosis"][0]["message"]
    assert not job["frontier"]


def test_a_replan_keeps_every_rejected_account_where_it_was_and_every_kept_move(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    parent = _finished(api, {}, stored)
    moves = {m["account"]: m["to"] for m in parent["plan"]["moves"]}
    balancing = sorted(a for a in moves if a.startswith("a"))
    assert len(balancing) >= 4
    reject, keep = balancing[:3], balancing[3:4]
    answer = api.post(
        f"/v1/plans/{parent['id']}/replan", json={"reject": reject, "keep": keep, "note": "QBR"}
    )
    assert answer.status_code == 202, answer.text
    child = api.wait_for(answer.json()["id"], ("succeeded", "failed"))
    assert child["status"] == "succeeded", child
    assert child["parent"] == parent["id"]
    assigned = {a["account"]: a["csm"] for a in child["plan"]["assignments"]}
    for account in reject:
        assert assigned[account] == "c-lee"
    for account in keep:
        assert assigned[account] == moves[account]
    assert Plan.model_validate(child["plan"]).status in ("optimal", "feasible")
    assert_valid_plan(Book.model_validate(stored), Plan.model_validate(child["plan"]))
    # The re-plan is approved against the stored book (its pins are vetoes, not edits), even after the book
    # was rewritten with identical content (a new revision: the check compares contents).
    assert api.put("/v1/book", json=stored).status_code == 200
    approved = api.post(f"/v1/plans/{child['id']}/approve")
    assert approved.status_code == 200, approved.text
    book = {a["id"]: a["current_csm"] for a in api.get("/v1/book").json()["accounts"]}
    assert all(book[a] == "c-lee" for a in reject)


def test_vetoes_that_are_not_moves_of_the_plan_are_422_naming_them(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    parent = _finished(api, {}, stored)
    moved = parent["plan"]["moves"][0]["account"]
    for body in ({"reject": ["nope", moved]}, {"keep": ["a-ghost"]}, {"reject": [moved], "keep": [moved]}):
        answer = api.post(f"/v1/plans/{parent['id']}/replan", json=body)
        assert answer.status_code == 422, answer.text
        named = (body.get("reject") or body.get("keep") or [])[0]
        assert named in answer.json()["message"] or moved in answer.json()["message"]
    assert api.post("/v1/plans/nope/replan", json={"reject": [moved]}).status_code == 404
    # Sam has left: his account cannot stay with him, so that veto cannot be kept.
    answer = api.post(f"/v1/plans/{parent['id']}/replan", json={"reject": ["s0"]})
    assert (
        answer.status_code == 422 and "s0" in answer.json()["message"] and "left" in answer.json()["message"]
    )
    assert api.post(f"/v1/plans/{parent['id']}/approve", json={"moves": []}).status_code == 422
    answer = api.post(f"/v1/plans/{parent['id']}/approve", json={"moves": ["a-ghost"]})
    assert answer.status_code == 422 and "a-ghost" in answer.json()["message"]


def test_a_partial_approval_that_leaves_a_csm_over_capacity_is_refused_whole(api: Api) -> None:
    stored = lopsided_book()
    stored["csms"][1]["capacity_hours"] = 400  # Dana takes at most 8 accounts
    stored["csms"].append({"id": "c-kim", "name": "Kim", "tiers": ["enterprise"], "capacity_hours": 1000})
    stored["accounts"].append(
        {"id": "d0", "arr": 50_000, "tier": "enterprise", "hours_per_year": 380, "current_csm": "c-dana"}
    )
    api.put("/v1/book", json=stored)
    job = _finished(api, {}, stored)
    moves = job["plan"]["moves"]
    into_dana = [m["account"] for m in moves if m["to"] == "c-dana"]
    out_of_dana = [m["account"] for m in moves if m["from"] == "c-dana"]
    assert into_dana and out_of_dana, moves
    before = api.get("/v1/book").json()
    answer = api.post(f"/v1/plans/{job['id']}/approve", json={"moves": into_dana})
    assert answer.status_code == 409, answer.text
    message = answer.json()["message"]
    assert "capacity_hours" in message and "c-dana" in message and "400.0 h" in message
    assert api.get("/v1/book").json() == before
    assert api.get("/v1/audit", params={"plan_id": job["id"]}).json()["items"] == []


def test_a_partial_approval_that_breaks_nothing_is_applied_and_audited(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    job = _finished(api, {}, stored)
    moves = [m["account"] for m in job["plan"]["moves"]]
    chosen = ["s0", *[a for a in moves if a != "s0"][:2]]
    answer = api.post(f"/v1/plans/{job['id']}/approve", json={"moves": chosen, "note": "first wave"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied_moves"] == 3 and answer.json()["left_moves"] == len(moves) - 3
    book = {a["id"]: a["current_csm"] for a in api.get("/v1/book").json()["accounts"]}
    targets = {m["account"]: m["to"] for m in job["plan"]["moves"]}
    assert all(book[a] == targets[a] for a in chosen)
    assert all(book[a] == "c-lee" for a in moves if a not in chosen)
    events = api.get("/v1/audit", params={"plan_id": job["id"]}).json()["items"]
    assert sorted(e["account"] for e in events if e["action"] == "account_moved") == sorted(chosen)
    approval = next(e for e in events if e["action"] == "plan_approved")
    assert sorted(approval["detail"]["approved_moves"]) == sorted(chosen)
    assert sorted(approval["detail"]["left_moves"]) == sorted(a for a in moves if a not in chosen)


def test_a_scenario_plan_can_be_read_and_compared_but_never_approved(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    live = _finished(api, {}, stored)
    body_of_scenario = {
        "remove_csms": ["c-dana"],
        "add_csms": [{"id": "c-new", "name": "New hire", "tiers": ["enterprise"], "capacity_hours": 1000}],
    }
    scenario = _finished(api, {"scenario": body_of_scenario})
    assert scenario["scenario"] == {"remove_csms": ["c-dana"], "add_csms": ["c-new"]}
    what_if = apply_scenario(Book.model_validate(stored), Scenario.model_validate(body_of_scenario))
    assert_valid_plan(what_if, Plan.model_validate(scenario["plan"]))
    assigned = {a["csm"] for a in scenario["plan"]["assignments"]}
    assert "c-dana" not in assigned and "c-new" in assigned
    answer = api.post(f"/v1/plans/{scenario['id']}/approve")
    assert answer.status_code == 409 and "scenario" in answer.json()["message"]
    inline = _finished(api, {"book": stored})
    answer = api.post(f"/v1/plans/{inline['id']}/approve")
    assert answer.status_code == 409 and "scenario" in answer.json()["message"]
    compared = api.get("/v1/plans/compare", params={"ids": f"{live['id']},{scenario['id']}"})
    assert compared.status_code == 200, compared.text
    assert [p["scenario"] for p in compared.json()["plans"]] == [False, True]
    for body in ({"scenario": {"remove_csms": ["c-ghost"]}}, {"scenario": {"add_csms": [stored["csms"][0]]}}):
        answer = api.post("/v1/plans", json=body)
        assert answer.status_code == 422, answer.text
        assert "c-ghost" in answer.json()["message"] or "c-lee" in answer.json()["message"]


def test_compare_puts_figures_and_every_csm_side_by_side_and_names_an_unknown_plan(api: Api) -> None:
    stored = lopsided_book()
    api.put("/v1/book", json=stored)
    first = _finished(api, {}, stored)
    capped = _finished(api, {"policy": {"max_moves": 2}}, stored)
    answer = api.get("/v1/plans/compare", params={"ids": f"{first['id']},{capped['id']}"})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert [p["moves"] for p in data["plans"]] == [len(first["plan"]["moves"]), len(capped["plan"]["moves"])]
    assert data["differs"]["moves"] is True and data["differs"]["max_moves"] is True
    assert data["differs"]["unassigned"] is (first["plan"]["unassigned"] != capped["plan"]["unassigned"])
    lee = next(row for row in data["csms"] if row["csm"] == "c-lee")
    loads = {load["csm"]: load for load in first["plan"]["csm_loads"]}
    assert lee["plans"][0]["hours"] == loads["c-lee"]["hours"] and lee["differs"] is True
    missing = api.get("/v1/plans/compare", params={"ids": f"{first['id']},nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    for ids in (first["id"], f"{first['id']},{first['id']}", ",".join([first["id"]] * 5)):
        assert api.get("/v1/plans/compare", params={"ids": ids}).status_code == 422


def test_a_cancelled_frontier_keeps_the_points_it_finished_and_reported_progress(api: Api) -> None:
    from bench.books import generate_rebalance_book

    book = generate_rebalance_book(900, seed=3)
    data = book.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["policy"]["time_limit_seconds"] = 60
    api.put("/v1/book", json=data)
    plan_id = _start(api, {"frontier": True})
    deadline = time.monotonic() + 90
    job = api.get(f"/v1/plans/{plan_id}").json()
    # A point is filed the moment it is done; progress is written at most twice a second.
    while time.monotonic() < deadline and not (
        job["frontier"] and (job["progress"] or {}).get("points_done", 0) >= 1
    ):
        time.sleep(0.2)
        job = api.get(f"/v1/plans/{plan_id}").json()
    assert job["status"] == "running" and job["frontier"], job["status"]
    assert job["progress"]["points_done"] >= 1
    assert api.delete(f"/v1/plans/{plan_id}").status_code == 200
    cancelled = api.wait_for(plan_id, ("cancelled",))
    kept = cancelled["frontier"]
    assert kept and len(kept) >= len(job["frontier"])
    time.sleep(1.5)
    assert api.get(f"/v1/plans/{plan_id}").json()["frontier"] == kept, "no point is filed after the cancel"
    for point in kept:
        stored = api.get(f"/v1/plans/{point['plan_id']}").json()
        assert stored["status"] == "succeeded" and len(stored["plan"]["moves"]) == point["moves"]
