"""The change-sheet and CRM download pages without a browser: who may open them, unknown plans and CSMs,
and a CRM file that names the CSMs it lacks an identity for."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from pages_support import sign_in


def finished_plan(client: TestClient) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {client.keys['ops']}"}  # type: ignore[attr-defined]
    created = client.post("/v1/plans", json={"policy": {"time_limit_seconds": 5}}, headers=headers)
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(created.json()["url"], headers=headers).json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_change_sheets_are_for_plan_readers_and_crm_files_for_ops(client: TestClient) -> None:
    job = finished_plan(client)
    receiver = job["plan"]["moves"][0]["to"]
    sign_in(client, "scheduler")
    assert client.get(f"/plans/{job['id']}/changes/{receiver}").status_code == 200
    assert client.get(f"/plans/{job['id']}/handoffs/changes.csv").status_code == 200
    refused = client.get(f"/plans/{job['id']}/handoffs/generic.csv")
    assert refused.status_code == 403 and "ops" in refused.text
    sign_in(client, "hr")
    assert client.get(f"/plans/{job['id']}/changes/{receiver}").status_code == 403


def test_an_unknown_plan_or_a_csm_the_plan_does_not_change_is_a_404_page(client: TestClient) -> None:
    job = finished_plan(client)
    changed = {m["to"] for m in job["plan"]["moves"]} | {m["from"] for m in job["plan"]["moves"]}
    unchanged = next(
        c["id"]
        for c in client.get("/v1/book", headers={"Authorization": f"Bearer {client.keys['ops']}"}).json()[
            "csms"
        ]  # type: ignore[attr-defined]
        if c["id"] not in changed
    )
    sign_in(client, "ops")
    assert client.get("/plans/nope/changes/c-theo").status_code == 404
    missing = client.get(f"/plans/{job['id']}/changes/{unchanged}")
    assert missing.status_code == 404 and unchanged in missing.text
    assert client.get(f"/plans/{job['id']}/handoffs/pipedrive.csv").status_code == 422
    salesforce = client.get(f"/plans/{job['id']}/handoffs/salesforce.csv")
    assert salesforce.status_code == 422 and "crm_user_id" in salesforce.text
