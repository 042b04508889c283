"""Every route of the OpenAPI document, with no key, a wrong key, a revoked key and each scope."""

from __future__ import annotations

import re
from typing import Any

from conftest import Api

from app.services.keys import create_key, revoke_key

# Who may call what (CONTRACT.md): ops edits the book, runs and approves plans; hr reads the book summary
# and hiring gaps; scheduler starts (and follows) plans.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/book"): {"ops"},
    ("PUT", "/v1/book"): {"ops"},
    ("GET", "/v1/book/summary"): {"ops", "hr"},
    ("PUT", "/v1/book/policy"): {"ops"},
    ("GET", "/v1/book/accounts"): {"ops"},
    ("GET", "/v1/book/accounts.csv"): {"ops"},
    ("PUT", "/v1/book/accounts.csv"): {"ops"},
    ("GET", "/v1/book/accounts/{account_id}"): {"ops"},
    ("PUT", "/v1/book/accounts/{account_id}"): {"ops"},
    ("DELETE", "/v1/book/accounts/{account_id}"): {"ops"},
    ("GET", "/v1/book/csms"): {"ops"},
    ("GET", "/v1/book/csms.csv"): {"ops"},
    ("PUT", "/v1/book/csms.csv"): {"ops"},
    ("GET", "/v1/book/csms/{csm_id}"): {"ops"},
    ("PUT", "/v1/book/csms/{csm_id}"): {"ops"},
    ("DELETE", "/v1/book/csms/{csm_id}"): {"ops"},
    ("POST", "/v1/solve"): {"ops"},
    ("POST", "/v1/plans"): {"ops", "scheduler"},
    ("GET", "/v1/plans"): {"ops", "scheduler"},
    ("GET", "/v1/plans/{plan_id}"): {"ops", "scheduler"},
    ("DELETE", "/v1/plans/{plan_id}"): {"ops", "scheduler"},  # scheduler: only the jobs it started
    ("POST", "/v1/plans/{plan_id}/approve"): {"ops"},
    ("GET", "/v1/plans/{plan_id}/changes"): {"ops", "scheduler"},
    ("GET", "/v1/plans/{plan_id}/changes.csv"): {"ops", "scheduler"},
    ("GET", "/v1/plans/{plan_id}/handoffs.csv"): {"ops"},
    ("POST", "/v1/plans/{plan_id}/replan"): {"ops"},
    ("GET", "/v1/plans/compare"): {"ops", "scheduler"},
    ("GET", "/v1/hiring-gaps"): {"ops", "hr"},
    ("POST", "/v1/hiring-gaps"): {"ops", "hr"},
    ("GET", "/v1/audit"): {"ops"},
    ("POST", "/v1/recommendations"): {"ops", "scheduler"},  # assign: true needs ops (403 for scheduler)
    ("GET", "/v1/schedule"): {"ops"},
    ("PUT", "/v1/schedule"): {"ops"},
}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    url = re.sub(r"\{[^}]+\}", "missing", path)
    # An invalid body: an admitted key gets past auth to 422 (or 404), never into a solve.
    kwargs: dict[str, Any] = {}
    if method in ("PUT", "POST"):
        kwargs = {"content": b"[]", "headers": {**headers, "Content-Type": "application/json"}}
        if path.endswith(".csv"):
            kwargs["headers"]["Content-Type"] = "text/csv"
            kwargs["content"] = b"nonsense\n"
        if path.endswith("/approve") or path == "/v1/plans":
            kwargs["content"] = b"{}"
    else:
        kwargs = {"headers": headers}
    return api.client.request(method, url, **kwargs)


def test_the_scope_table_covers_every_route_of_the_openapi_document(api: Api) -> None:
    assert set(_operations(api)) == set(ALLOWED) | PUBLIC


def test_every_route_answers_401_without_a_valid_key_and_403_without_its_scope(api: Api) -> None:
    """The matrix, generated from the OpenAPI document: every operation × no key, a wrong key, a revoked
    key, a non-bearer scheme, and each scope's key; on SQLite and on PostgreSQL."""
    with api.db.session() as session:
        _, revoked = create_key(session, ["ops", "hr", "scheduler"], name="gone")
        revoke_key(session, "gone")
    failures = []
    for method, path in _operations(api):
        if (method, path) in PUBLIC:
            assert _call(api, method, path, {}).status_code == 200, path
            continue
        for label, headers in (
            ("no key", {}),
            ("wrong key", {"Authorization": "Bearer bp_not-a-key"}),
            ("revoked key", {"Authorization": f"Bearer {revoked}"}),
            ("not bearer", {"Authorization": f"Basic {api.keys['ops']}"}),
        ):
            answer = _call(api, method, path, headers)
            if answer.status_code != 401 or "Authorization" not in answer.json()["message"]:
                failures.append(f"{method} {path} with {label}: {answer.status_code}")
        for scope, key in api.keys.items():
            answer = _call(api, method, path, {"Authorization": f"Bearer {key}"})
            allowed = scope in ALLOWED[(method, path)]
            if (allowed and answer.status_code in (401, 403)) or (not allowed and answer.status_code != 403):
                failures.append(f"{method} {path} as {scope}: {answer.status_code} {answer.text[:120]}")
            if answer.status_code >= 500:
                failures.append(f"{method} {path} as {scope}: {answer.status_code}")
    assert not failures, "\n".join(failures)


def test_a_401_says_how_to_authenticate(api: Api) -> None:
    answer = api.get("/v1/book", scope=None)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["detail"][0]["field"] == "Authorization"


def test_every_operation_documents_its_401_and_403(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if (method.upper(), path) in PUBLIC:
                continue
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            assert operation.get("security"), (method, path)
