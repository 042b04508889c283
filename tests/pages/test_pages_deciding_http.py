"""The deciding pages without a browser: compare's bad input, the re-plan form's CSRF and empty ticks,
and a scenario plan's page saying it cannot be approved."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from pages_support import sign_in


def _finished(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {client.keys['ops']}"}  # type: ignore[attr-defined]
    plan_id = client.post("/v1/plans", json=body, headers=headers).json()["id"]
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return job
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_compare_page_names_an_unknown_plan_and_refuses_a_single_id(client: TestClient) -> None:
    sign_in(client, "ops")
    job = _finished(client, {"policy": {"time_limit_seconds": 3}})
    missing = client.get(f"/plans/compare?ids={job['id']},nope")
    assert missing.status_code == 404 and "nope" in missing.text
    single = client.get(f"/plans/compare?ids={job['id']}")
    assert single.status_code == 422 and "2 to 4" in single.text
    assert client.get(f"/plans/compare?ids={job['id']},{job['id']}").status_code == 422


def test_the_replan_form_needs_its_csrf_token_and_a_ticked_move(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    job = _finished(client, {"policy": {"time_limit_seconds": 3}})
    forged = client.post(f"/plans/{job['id']}/replan", data={"action": "reject", "moves": ["x"]})
    assert forged.status_code == 403
    empty = client.post(f"/plans/{job['id']}/replan", data={"csrf": csrf, "action": "reject"})
    assert empty.status_code == 303 and "Tick%20at%20least%20one%20move" in empty.headers["location"]
    page = client.get(empty.headers["location"])
    assert "Tick at least one move first." in page.text
    moved = job["plan"]["moves"][-1]["account"]
    kept = client.post(f"/plans/{job['id']}/replan", data={"csrf": csrf, "action": "keep", "moves": [moved]})
    assert kept.status_code == 303 and kept.headers["location"].startswith("/plans/")
    assert kept.headers["location"] != f"/plans/{job['id']}"


def test_a_scenario_plans_page_says_it_cannot_be_approved(client: TestClient) -> None:
    sign_in(client, "ops")
    job = _finished(
        client,
        {
            "policy": {"time_limit_seconds": 3},
            "scenario": {"add_csms": [{"id": "c-hire", "tiers": ["enterprise"], "regions": ["NA"]}]},
        },
    )
    page = client.get(f"/plans/{job['id']}")
    assert page.status_code == 200
    assert "is a scenario" in page.text and 'id="approve-link"' not in page.text


def test_the_plans_page_starts_a_frontier_and_tags_it_in_the_history(client: TestClient) -> None:
    csrf = sign_in(client, "ops")
    started = client.post("/plans", data={"csrf": csrf, "time_limit_seconds": "4", "frontier": "1"})
    assert started.status_code == 303, started.text
    plan_id = started.headers["location"].rsplit("/", 1)[-1]
    headers = {"Authorization": f"Bearer {client.keys['ops']}"}  # type: ignore[attr-defined]
    assert client.get(f"/v1/plans/{plan_id}", headers=headers).json()["kind"] == "frontier"
    history = client.get("/plans").text
    assert f'href="/plans/{plan_id}">{plan_id[:8]}</a> <span class="tag">frontier</span>' in history
