"""Mixed-load test of the service on loopback: clients reading, editing accounts with `If-Match`, starting
plans and approving them while plans solve, on SQLite and on PostgreSQL.

Reports p50/p95/p99 per route, every status per route (any 5xx fails the run), and a final consistency
check: the audit log replayed onto the first book gives the stored book exactly (owners and every field).
Bounded: at most 200 clients and 600 s; the service listens on 127.0.0.1 only. Not part of `make test`.

Usage: uv run python -m bench.load_test [--backend sqlite|postgres|both] [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import httpx

from bench.service_bench import ROOT, Database, _cli, _free_port, _percentile

MAX_CLIENTS = 200
MAX_SECONDS = 600.0
# What each client does next, by weight: mostly reads, as the dashboards and pages do.
ACTIONS = (
    ("summary", 25),
    ("accounts_page", 15),
    ("account", 15),
    ("plans", 10),
    ("edit", 20),
    ("start_plan", 3),
    ("approve", 12),
)
EXPECTED_CONFLICTS = {409, 412, 429}  # stale plan, stale If-Match, the key's job quota
# Edits come in bursts: for EDIT_SECONDS of every CYCLE_SECONDS clients edit, then the book rests and a
# planner (client 0, its own key) starts a plan that can still be approved when it lands (any edit in
# between makes it stale: 409). Approvals are tried throughout.
CYCLE_SECONDS = 30.0
EDIT_SECONDS = 10.0


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, route: str, status: int | str, started: float, why: str = "") -> None:
        self.latencies[route].append((time.perf_counter() - started) * 1000)
        self.statuses[route][f"{status} {why}".strip()] += 1

    def report(self) -> dict[str, Any]:
        out = {}
        for route in sorted(self.latencies):
            values = self.latencies[route]
            out[route] = {
                "requests": len(values),
                "p50_ms": round(_percentile(values, 0.50), 1),
                "p95_ms": round(_percentile(values, 0.95), 1),
                "p99_ms": round(_percentile(values, 0.99), 1),
                "statuses": dict(sorted(self.statuses[route].items())),
            }
        return out


async def _request(
    client: httpx.AsyncClient, recorder: Recorder, route: str, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        recorder.record(route, type(exc).__name__, started)
        return None
    recorder.record(route, response.status_code, started, _why(response))
    return response


def _why(response: httpx.Response) -> str:
    """For a 409, which conflict: a plan made stale by an edit, or one approved already."""
    if response.status_code != 409:
        return ""
    message = str(response.json().get("message", ""))
    return "(stale)" if "changed since" in message else "(approved already)" if "already" in message else ""


def _editing(started: float) -> bool:
    return (time.perf_counter() - started) % CYCLE_SECONDS < EDIT_SECONDS


async def _planner(
    client: httpx.AsyncClient, recorder: Recorder, key: str, started: float, stop_at: float
) -> None:
    """At the start of every quiet window, one plan of the stored book (with its own key)."""
    planned_in: set[int] = set()
    while time.perf_counter() < stop_at:
        window = int((time.perf_counter() - started) // CYCLE_SECONDS)
        if not _editing(started) and window not in planned_in:
            planned_in.add(window)
            headers = {"Authorization": f"Bearer {key}"}
            await _request(client, recorder, "POST /v1/plans", "POST", "/v1/plans", json={}, headers=headers)
        await asyncio.sleep(0.2)


async def _client_loop(
    index: int,
    client: httpx.AsyncClient,
    recorder: Recorder,
    account_ids: list[str],
    csm_ids: list[str],
    started: float,
    stop_at: float,
) -> None:
    rng = random.Random(index)
    names, weights = zip(*ACTIONS, strict=True)
    while time.perf_counter() < stop_at:
        action = rng.choices(names, weights)[0]
        if action == "edit" and not _editing(started):
            action = "approve"
        account = rng.choice(account_ids)
        if action == "summary":
            await _request(client, recorder, "GET /v1/book/summary", "GET", "/v1/book/summary")
        elif action == "accounts_page":
            params = {"limit": 50, "offset": rng.randrange(0, max(1, len(account_ids) - 50))}
            await _request(
                client, recorder, "GET /v1/book/accounts", "GET", "/v1/book/accounts", params=params
            )
        elif action == "account":
            await _request(
                client, recorder, "GET /v1/book/accounts/{id}", "GET", f"/v1/book/accounts/{account}"
            )
        elif action == "plans":
            await _request(client, recorder, "GET /v1/plans", "GET", "/v1/plans", params={"limit": 10})
        elif action == "edit":
            await _edit(client, recorder, rng, account, csm_ids)
        elif action == "start_plan":
            await _request(client, recorder, "POST /v1/plans", "POST", "/v1/plans", json={})
        else:
            await _approve(client, recorder, rng)


async def _edit(
    client: httpx.AsyncClient, recorder: Recorder, rng: random.Random, account: str, csm_ids: list[str]
) -> None:
    """Read an account, change it, write it back with If-Match (412 when someone wrote in between)."""
    read = await _request(
        client, recorder, "GET /v1/book/accounts/{id}", "GET", f"/v1/book/accounts/{account}"
    )
    if read is None or read.status_code != 200:
        return
    body = read.json()
    body["name"] = f"{account} edited {rng.randrange(1_000_000)}"
    if rng.random() < 0.3 and body.get("current_csm") and not body.get("pinned"):
        body["current_csm"] = rng.choice(csm_ids)
    await _request(
        client,
        recorder,
        "PUT /v1/book/accounts/{id} If-Match",
        "PUT",
        f"/v1/book/accounts/{account}",
        json=body,
        headers={"If-Match": read.headers["ETag"]},
    )


async def _approve(client: httpx.AsyncClient, recorder: Recorder, rng: random.Random) -> None:
    listed = await _request(
        client, recorder, "GET /v1/plans", "GET", "/v1/plans", params={"status": "succeeded", "limit": 5}
    )
    if listed is None or listed.status_code != 200:
        return
    candidates = [p["id"] for p in listed.json()["items"] if p["approved_at"] is None]
    if candidates:
        plan_id = rng.choice(candidates)
        await _request(
            client, recorder, "POST /v1/plans/{id}/approve", "POST", f"/v1/plans/{plan_id}/approve"
        )


def replay(first_book: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The accounts the audit log says the book holds: the first book, then every event in order."""
    accounts = {a["id"]: dict(a) for a in first_book["accounts"]}
    for event in events:
        action, account = event["action"], event.get("account")
        if action in ("account_updated", "account_created"):
            accounts[account] = dict(event["detail"]["after"])
        elif action == "account_deleted":
            accounts.pop(account, None)
        elif action in ("account_moved", "account_assigned"):
            accounts[account]["current_csm"] = event["to_csm"]
        elif action in ("book_replaced", "accounts_imported"):
            raise RuntimeError(f"a whole-book write ({action}) cannot be replayed from the audit log")
    return accounts


def _audit_events(client: httpx.Client) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = client.get("/v1/audit", params={"limit": 500, "offset": offset}).raise_for_status().json()
        events.extend(page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return events[::-1]  # oldest first


async def _run_clients(
    base: str,
    keys: tuple[str, str],
    clients: int,
    seconds: float,
    account_ids: list[str],
    csm_ids: list[str],
) -> dict[str, Any]:
    recorder = Recorder()
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    headers = {"Authorization": f"Bearer {keys[0]}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60, headers=headers) as client:
        started = time.perf_counter()
        stop_at = started + seconds
        loops = [
            _client_loop(i, client, recorder, account_ids, csm_ids, started, stop_at) for i in range(clients)
        ]
        await asyncio.gather(_planner(client, recorder, keys[1], started, stop_at), *loops)
    return recorder.report()


def _start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BOOKPLAN_CP_SAT_WORKERS": "1",
        "BOOKPLAN_RUNNER": "inprocess",
        "BOOKPLAN_SOLVE_TIME_LIMIT_SECONDS": "2",
        "BOOKPLAN_API_KEY_CACHE_SECONDS": "5",
    }
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--database-url", url, "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def run_backend(backend: str, clients: int, seconds: float, accounts: int) -> dict[str, Any]:
    from bench.books import generate_rebalance_book

    db = Database(backend)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        _cli("migrate", url=db.url)
        key = _cli("keys", "create", "--scope", "ops", "--name", "load-test", url=db.url)
        planner_key = _cli("keys", "create", "--scope", "ops", "--name", "load-test-planner", url=db.url)
        server = _start_server(db.url, port)
        book = generate_rebalance_book(accounts, seed=11).model_dump_json(by_alias=True, exclude_none=True)
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            client.put(
                "/v1/book", content=book, headers={"Content-Type": "application/json"}
            ).raise_for_status()
            first_book = client.get("/v1/book").raise_for_status().json()
            # Replay starts after the last event the first book already holds.
            first_event = (
                client.get("/v1/audit", params={"limit": 1}).raise_for_status().json()["items"][0]["id"]
            )
            account_ids = [a["id"] for a in first_book["accounts"]]
            csm_ids = [c["id"] for c in first_book["csms"]]
            client.post("/v1/plans", json={}).raise_for_status()  # a plan solving from the first second
            routes = asyncio.run(
                _run_clients(base, (key, planner_key), clients, seconds, account_ids, csm_ids)
            )
            stored = {a["id"]: a for a in client.get("/v1/book").raise_for_status().json()["accounts"]}
            events = _audit_events(client)
        replayed = replay(first_book, [e for e in events if e["id"] > first_event])
        differing = sorted(k for k in set(stored) | set(replayed) if stored.get(k) != replayed.get(k))
        server_errors = sum(
            n
            for route in routes.values()
            for status, n in route["statuses"].items()
            if status.startswith("5")
        )
        failures = sum(
            n
            for route in routes.values()
            for status, n in route["statuses"].items()
            if not status[:3].isdigit()
        )
        return {
            "backend": backend,
            "clients": clients,
            "seconds": seconds,
            "accounts": accounts,
            "routes": routes,
            "server_errors": server_errors,
            "transport_errors": failures,
            "audit_events": len(events),
            "approved_plans": sum(1 for e in events if e["action"] == "plan_approved"),
            "consistent": not differing,
            "differing_accounts": differing[:10],
        }
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        db.drop()


def markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        lines.append(
            f"**{result['backend']}**: {result['clients']} clients × {result['seconds']:.0f} s, "
            f"{result['accounts']:,} accounts; {result['server_errors']} 5xx, "
            f"{result['transport_errors']} transport errors; {result['approved_plans']} plans approved, "
            f"{result['audit_events']:,} audit events; audit replayed onto the first book "
            f"{'equals' if result['consistent'] else 'DIFFERS FROM'} the stored book."
        )
        lines.append("")
        lines.append("| route | requests | p50 ms | p95 ms | p99 ms | statuses |")
        lines.append("|---|---:|---:|---:|---:|---|")
        for route, row in result["routes"].items():
            statuses = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
            lines.append(
                f"| `{route}` | {row['requests']:,} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
                f"{statuses} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("-o", "--output", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --seconds 1..{MAX_SECONDS:.0f}")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = [run_backend(b, args.clients, args.seconds, args.accounts) for b in backends]
    if args.output:
        with open(args.output, "w") as out:
            json.dump(results, out, indent=2)
    print(markdown(results))
    ok = all(r["server_errors"] == 0 and r["transport_errors"] == 0 and r["consistent"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
