"""Routing new accounts, side by side in one run, on a planned 20,000-account book:

1. one account per request against the stored book: p50/p95/p99 at 10 concurrent loopback clients, server
   side (the route's `Server-Timing`) and as the client sees it (bound: server p95 <= 50 ms);
2. 1,000 new accounts in one request (bound: <= 5 s), and the largest utilization per pool against
   `bookplan solve` on the same book with every existing account pinned (bound: within 0.5 points);
3. the same 1,000 accounts arriving one by one: bookplan's router (each routed alone against the book as the
   previous ones left it), round-robin and least-loaded routing (bench/baselines.py): cap breaches,
   accounts left without a CSM, and the spread of utilization per pool after the stream.

Usage: uv run python -m bench.recommend_bench [--accounts 20000] [--new 1000] [--seconds 10] [-o out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench import baselines
from bench.baselines import least_loaded, round_robin, score
from bench.books import generate_book
from bench.service_bench import ROOT, Database, _cli, _free_port, _percentile
from solver import policy as rules
from solver.engine import solve
from solver.recommend import route_one_by_one
from solver.routing_book import RoutingBook, prepare_routing_book
from solver.routing_input import routed_book_and_plan
from solver.schema import Account, Book
from solver.validation import validate_plan

P95_BOUND_MS = 50.0
BATCH_BOUND_SECONDS = 5.0
LEVEL_BOUND_POINTS = 0.5


def planned_book(n_accounts: int, seed: int, time_limit: float, utilization: float = 0.78) -> Book:
    """A book as it stands after a plan: every account with the CSM the engine gave it."""
    fresh = generate_book(n_accounts, seed=seed, fresh=True, target_utilization=utilization)
    plan = solve(fresh, time_limit=time_limit)
    owner = {a.account: a.csm for a in plan.assignments}
    return fresh.model_copy(
        update={"accounts": [a.model_copy(update={"current_csm": owner.get(a.id)}) for a in fresh.accounts]}
    )


def new_accounts(n: int, seed: int) -> list[Account]:
    """`n` new customers drawn like the book's own (segments, regions, ARR), with ids the book lacks."""
    drawn = generate_book(n, seed=seed, fresh=True, parents=False).accounts
    return [a.model_copy(update={"id": f"new-{a.id}", "parent_id": None}) for a in drawn]


def utilizations(book: Book, new: list[Account], chosen: dict[str, str | None]) -> dict[str, float]:
    hours: dict[str, float] = defaultdict(float)
    for a in book.accounts:
        if a.current_csm is not None:
            hours[a.current_csm] += rules.account_hours(a, book.policy)
    for a in new:
        if (c := chosen.get(a.id)) is not None:
            hours[c] += rules.account_hours(a, book.policy)
    today = rules.as_of(book.policy)
    return {
        c.id: hours[c.id] / cap
        for c in book.csms
        if not rules.csm_has_left(c, today) and (cap := rules.capacity_hours(c, book.policy)) > 0
    }


def pool_figures(routing: RoutingBook, utils: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for p, members in enumerate(routing.pools):
        values = [utils[routing.seats[i].id] for i in members if routing.seats[i].id in utils]
        if values:
            out.append(
                {"pool": routing.pool_names[p], "csms": len(values), "max": max(values), "min": min(values)}
            )
    return out


def round_robin_count_caps(book: Book) -> dict[str, str | None]:
    """Round-robin as routing tools configure it: the next eligible CSM in turn under their book-size cap
    (a cap on records), with no notion of hours or ARR."""
    inst = baselines.build_instance(book)
    cursors: dict[tuple[int, ...], int] = defaultdict(int)

    def pick(loads: Any, group: list[int], candidates: list[int]) -> int | None:
        key = tuple(candidates)
        for step in range(len(candidates)):
            csm = candidates[(cursors[key] + step) % len(candidates)]
            cap = inst.max_accounts[csm]
            if cap is None or loads.count[csm] + len(group) <= cap:
                cursors[key] = (cursors[key] + step + 1) % len(candidates)
                return csm
        return None

    return baselines._route(inst, pick)


def compare_stream(book: Book, routing: RoutingBook, new: list[Account]) -> dict[str, Any]:
    """bookplan's router, round-robin and least-loaded on the same stream, judged by the same scorer."""
    combined = book.model_copy(update={"accounts": [*book.accounts, *new]})
    runs: dict[str, dict[str, str | None]] = {}
    started = time.perf_counter()
    runs["bookplan (one by one)"] = route_one_by_one(routing, new)
    seconds = {"bookplan (one by one)": time.perf_counter() - started}
    for peer in (round_robin, least_loaded):
        run = peer(combined)
        runs[run.name] = run.assignment
        seconds[run.name] = run.seconds
    started = time.perf_counter()
    runs["round_robin (book-size caps only)"] = round_robin_count_caps(combined)
    seconds["round_robin (book-size caps only)"] = time.perf_counter() - started
    out: dict[str, Any] = {}
    before = pool_figures(routing, utilizations(book, [], {}))
    out["the book before the stream"] = {
        "worst_pool_spread_points": round(100 * max(p["max"] - p["min"] for p in before), 2),
        "median_pool_spread_points": round(100 * statistics.median(p["max"] - p["min"] for p in before), 2),
        "largest_utilization": round(max(p["max"] for p in before), 4),
    }
    for name, chosen in runs.items():
        assignment = {a.id: a.current_csm for a in book.accounts} | {a.id: chosen.get(a.id) for a in new}
        judged = score(combined, assignment)
        pools = pool_figures(routing, utilizations(book, new, {a.id: chosen.get(a.id) for a in new}))
        out[name] = {
            "seconds": round(seconds[name], 3),
            "cap_breaches": judged["cap_violations"],
            "breaches_by_rule": {k: v for k, v in judged["violations"].items() if v},
            "new_unassigned": sum(1 for a in new if chosen.get(a.id) is None),
            "out_of_band": judged["out_of_band"],
            "worst_pool_spread_points": round(100 * max(p["max"] - p["min"] for p in pools), 2),
            "median_pool_spread_points": round(
                100 * statistics.median(p["max"] - p["min"] for p in pools), 2
            ),
            "largest_utilization": round(max(p["max"] for p in pools), 4),
        }
    return out


# ---------------------------------------------------------------- over HTTP


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, str]:
    """One keep-alive HTTP/1.1 POST on an open connection: its status and Server-Timing header."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("server-timing", "")


async def _one_account_load(
    port: int, key: str, new: list[Account], clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` keep-alive connections, each posting one-account requests back to back for `seconds`.

    Plain asyncio sockets with the requests encoded up front: a load generator in Python competes with the
    service for the CPU, and httpx costs several times more per request than this."""
    requests = []
    for a in new:
        body = json.dumps({"accounts": [a.model_dump(mode="json", exclude_none=True)], "top": 3}).encode()
        requests.append(
            (
                f"POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    client_ms: list[float] = []
    server_ms: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                status, timing = await _post(reader, writer, requests[i % len(requests)])
                i += clients
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    continue
                client_ms.append((time.perf_counter() - started) * 1000)
                server_ms.append(float(timing.split("dur=")[1]))
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    elapsed = time.perf_counter() - began
    return {
        "clients": clients,
        "requests": len(client_ms),
        "errors": errors,
        "throughput_rps": round(len(client_ms) / elapsed, 1),
        "server_p50_ms": round(_percentile(server_ms, 0.50), 2),
        "server_p95_ms": round(_percentile(server_ms, 0.95), 2),
        "server_p99_ms": round(_percentile(server_ms, 0.99), 2),
        "client_p50_ms": round(_percentile(client_ms, 0.50), 2),
        "client_p95_ms": round(_percentile(client_ms, 0.95), 2),
        "client_p99_ms": round(_percentile(client_ms, 0.99), 2),
    }


def run_http(book: Book, new: list[Account], clients: int, seconds: float) -> dict[str, Any]:
    """`bookplan serve` in its own process (SQLite), the book stored, then both request shapes."""
    db = Database("sqlite")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        _cli("migrate", url=db.url)
        ops = _cli("keys", "create", "--scope", "ops", "--name", "bench-ops", url=db.url)
        scheduler = _cli("keys", "create", "--scope", "scheduler", "--name", "bench-crm", url=db.url)
        env = {**os.environ, "BOOKPLAN_MAX_BODY_BYTES": str(100 * 1024 * 1024)}
        command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", db.url]
        server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
        with httpx.Client(base_url=base, timeout=300) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            body = book.model_dump_json(by_alias=True, exclude_none=True)
            put = client.put(
                "/v1/book",
                content=body,
                headers={"Authorization": f"Bearer {ops}", "Content-Type": "application/json"},
            )
            put.raise_for_status()
            auth = {"Authorization": f"Bearer {scheduler}"}
            one = {"accounts": [new[0].model_dump(mode="json", exclude_none=True)]}
            started = time.perf_counter()
            client.post("/v1/recommendations", json=one, headers=auth).raise_for_status()
            cold = time.perf_counter() - started
            # This process holds the 20,000-account book too: keep it out of the collector's scans, or the
            # load generator's pauses (and the CPU they take from the service) show up in the figures.
            gc.collect()
            gc.freeze()
            asyncio.run(_one_account_load(port, scheduler, new, clients, 1.0))  # warm-up: connections
            load = asyncio.run(_one_account_load(port, scheduler, new, clients, seconds))
            batch_body = {"accounts": [a.model_dump(mode="json", exclude_none=True) for a in new], "top": 1}
            started = time.perf_counter()
            answer = client.post("/v1/recommendations", json=batch_body, headers=auth)
            batch_wall = time.perf_counter() - started
            answer.raise_for_status()
        chosen = {
            r["account"]: (r["candidates"][0]["csm"] if r["candidates"] else None)
            for r in answer.json()["recommendations"]
        }
        return {
            "backend": "sqlite",
            "accounts_in_book": put.json()["accounts"],
            "first_request_seconds (prepares the book)": round(cold, 2),
            "one_account": load,
            "one_account_within_bound": load["server_p95_ms"] <= P95_BOUND_MS and not load["errors"],
            "batch": {
                "accounts": len(new),
                "server_seconds": float(answer.headers["Server-Timing"].split("dur=")[1]) / 1000,
                "client_seconds": round(batch_wall, 3),
                "within_bound": batch_wall <= BATCH_BOUND_SECONDS,
            },
            "chosen": chosen,
        }
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        db.drop()


def compare_with_engine(
    book: Book, routing: RoutingBook, new: list[Account], chosen: dict[str, str | None], time_limit: float
) -> dict[str, Any]:
    """The batch's largest utilization per pool against `bookplan solve` with every existing account
    pinned (the same engine as a plan, the new accounts free)."""
    pinned = [a.model_copy(update={"pinned": True}) if a.current_csm else a for a in book.accounts]
    started = time.perf_counter()
    plan = solve(book.model_copy(update={"accounts": [*pinned, *new]}), time_limit=time_limit)
    engine_seconds = time.perf_counter() - started
    engine = {a.account: a.csm for a in plan.assignments}
    ours = pool_figures(routing, utilizations(book, new, chosen))
    theirs = pool_figures(routing, utilizations(book, new, {a.id: engine.get(a.id) for a in new}))
    pools = [
        {
            "pool": o["pool"],
            "csms": o["csms"],
            "router_max": round(o["max"], 4),
            "engine_max": round(t["max"], 4),
            "points_above_engine": round(100 * (o["max"] - t["max"]), 2),
        }
        for o, t in zip(ours, theirs, strict=True)
    ]
    worst = max(p["points_above_engine"] for p in pools)
    routed, plan_of_routing = routed_book_and_plan(routing, new, chosen)
    return {
        "router_violations (solver-free validator)": [str(v) for v in validate_plan(routed, plan_of_routing)],
        "engine_status": plan.status,
        "engine_seconds": round(engine_seconds, 1),
        "engine_unassigned_new": sum(1 for a in new if engine.get(a.id) is None),
        "router_unassigned_new": sum(1 for a in new if chosen.get(a.id) is None),
        "worst_points_above_engine": worst,
        "within_bound": worst <= LEVEL_BOUND_POINTS,
        "pools": pools,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--plan-seconds", type=float, default=25.0, help="time limit of the book's own plan")
    parser.add_argument("--engine-seconds", type=float, default=30.0, help="time limit of the pinned solve")
    parser.add_argument("-o", "--output", help="also write the results JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    book = planned_book(args.accounts, seed=3, time_limit=args.plan_seconds)
    new = new_accounts(args.new, seed=11)
    routing = prepare_routing_book(book)
    # The same stream against a book planned at ~90 % (the generator's default staffing): room is tight.
    full = planned_book(args.accounts, seed=3, time_limit=args.plan_seconds, utilization=0.90)
    http = run_http(book, new, args.clients, args.seconds)
    chosen = http.pop("chosen")
    versus_engine = compare_with_engine(book, routing, new, chosen, args.engine_seconds)
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "book": {"accounts": len(book.accounts), "csms": len(book.csms), "pools": len(routing.pools)},
        "http": http,
        "batch_vs_engine": versus_engine,
        "stream": compare_stream(book, routing, new),
        "stream_on_a_fuller_book": compare_stream(full, prepare_routing_book(full), new),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    ok = http["one_account_within_bound"] and http["batch"]["within_bound"] and versus_engine["within_bound"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
