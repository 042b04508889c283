"""Service benchmark: a 20,000-account book stored, a plan job solving on one core, 50 concurrent clients.

Measures, on SQLite and on PostgreSQL:
- `PUT /v1/book` of the 20,000-account book (bound: 5 s);
- p50/p95/p99 latency and errors of `GET /v1/book/summary`, `GET /v1/plans/{id}` (the running job) and
  `GET /v1/hiring-gaps` (stored book, cached per revision) under 50 concurrent keep-alive clients on
  loopback (bound: p95 <= 50 ms, zero errors), while the plan job's solver runs with one CP-SAT worker.

The service runs as `bookplan serve` in its own process. The load generator is wrk (C, 2 threads) when it
is on PATH, else asyncio + httpx in this process (which then competes with the service for the CPU).
Usage: uv run python -m bench.service_bench [--backend sqlite|postgres|both] [--seconds 10] [-o out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN = os.environ.get("BOOKPLAN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
P95_BOUND_MS = 50.0
PUT_BOUND_SECONDS = 5.0


def _book(n_accounts: int) -> bytes:
    from bench.books import generate_rebalance_book

    book = generate_rebalance_book(n_accounts, seed=7)
    return book.model_dump_json(by_alias=True, exclude_none=True).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Database:
    """A fresh database for one run: a temporary SQLite file, or a new PostgreSQL database dropped after."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._tmp = tempfile.TemporaryDirectory(prefix="bookplan-bench-")
        self._pg_name: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{Path(self._tmp.name) / 'bookplan.db'}"
        else:
            import psycopg

            self._pg_name = f"bookplan_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            self.url = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + self._pg_name

    def drop(self) -> None:
        if self._pg_name is not None:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self._pg_name,),
                )
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}"')
        self._tmp.cleanup()


def _cli(*args: str, url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", *args, "--database-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


async def _load(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                response = await client.get(path, headers=headers)
                await response.aread()
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    continue
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "errors": errors,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
    }


WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%f,'
    .. '"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def _wrk(base: str, path: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    try:
        result = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                script.name,
                "-H",
                f"Authorization: Bearer {key}",
                base + path,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    errors = {k: data[k] for k in ("status", "connect", "read", "write", "timeout") if data[k]}
    return {
        "requests": data["requests"],
        "errors": errors,
        "throughput_rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p95_ms": round(data["p95_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
        "mean_ms": round(data["mean_us"] / 1000, 2),
    }


def _solving(client: httpx.Client, key: str, plan_id: str | None) -> str:
    """A plan job that is solving now (`plan_id` if it still is), with another queued behind it so the
    runner always has a solve going while a route is measured."""
    headers = {"Authorization": f"Bearer {key}"}

    def status(job_id: str) -> str:
        return str(client.get(f"/v1/plans/{job_id}", headers=headers).json()["status"])

    def start() -> str:
        return str(client.post("/v1/plans", json={}, headers=headers).raise_for_status().json()["id"])

    queued = client.get("/v1/plans", params={"status": "queued"}, headers=headers).json()["total"]
    if plan_id is None or status(plan_id) != "running":
        running = client.get("/v1/plans", params={"status": "running"}, headers=headers).json()["items"]
        plan_id = running[0]["id"] if running else start()
    if not queued:
        start()
    for _ in range(600):
        if status(plan_id) == "running":
            return plan_id
        time.sleep(0.1)
    raise RuntimeError(f"plan job {plan_id} did not start within a minute")


def _run_wrk(base: str, key: str, plan_id: str, clients: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        # /healthz (no key, no database) is the baseline: what the machine and the framework alone cost.
        for route in ("/healthz", "/v1/book/summary", "/v1/plans/{id}", "/v1/hiring-gaps"):
            if route == "/v1/plans/{id}":
                # Measure a job that has just started, so it is still solving when the run ends.
                client.delete(f"/v1/plans/{plan_id}", headers=headers)
            plan_id = _solving(client, key, plan_id)
            path = route.replace("{id}", plan_id)
            _wrk(base, path, key, clients, 1.0)  # warm-up: connections, caches
            out[route] = _wrk(base, path, key, clients, seconds)
            out[route]["plan_status_after"] = client.get(f"/v1/plans/{plan_id}", headers=headers).json()[
                "status"
            ]
    return out


async def _run_load(base: str, key: str, plan_id: str, clients: int, seconds: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for path in ("/v1/book/summary", f"/v1/plans/{plan_id}", "/v1/hiring-gaps"):
            await _load(client, path, headers, clients, 1.0)  # warm-up: connections, caches
            label = "/v1/plans/{id}" if "plans" in path else path
            out[label] = await _load(client, path, headers, clients, seconds)
            job = (await client.get(f"/v1/plans/{plan_id}", headers=headers)).json()
            out[label]["plan_status_after"] = job["status"]
    return out


def run_backend(
    backend: str, book: bytes, clients: int, seconds: float, put_runs: int, force_httpx: bool = False
) -> dict[str, Any]:
    db = Database(backend)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        _cli("migrate", url=db.url)
        key = _cli("keys", "create", "--scope", "ops", "--scope", "hr", "--name", "bench", url=db.url)
        env = {
            **os.environ,
            "BOOKPLAN_CP_SAT_WORKERS": "1",
            # The service solves its own job here (no workers), on PostgreSQL too.
            "BOOKPLAN_RUNNER": "inprocess",
            # Long enough that the job is still solving while the load runs.
            "BOOKPLAN_SOLVE_TIME_LIMIT_SECONDS": str(int(seconds * 3 + 120)),
            "BOOKPLAN_MAX_BODY_BYTES": str(100 * 1024 * 1024),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "serve",
                "--port",
                str(port),
                "--database-url",
                db.url,
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            put_seconds = []
            for _ in range(put_runs):
                started = time.perf_counter()
                answer = client.put("/v1/book", content=book, headers=headers)
                put_seconds.append(time.perf_counter() - started)
                answer.raise_for_status()
            accounts = answer.json()["accounts"]
            gaps_started = time.perf_counter()
            client.get("/v1/hiring-gaps", headers=headers).raise_for_status()
            gaps_cold = time.perf_counter() - gaps_started
            plan_id = _solving(client, key, None)
        if shutil.which("wrk") and not force_httpx:
            load, generator = _run_wrk(base, key, plan_id, clients, seconds), "wrk -t2"
        else:
            load, generator = asyncio.run(_run_load(base, key, plan_id, clients, seconds)), "asyncio+httpx"
        return {
            "backend": backend,
            "accounts": accounts,
            "put_book_seconds": [round(s, 3) for s in put_seconds],
            "put_book_max_seconds": round(max(put_seconds), 3),
            "put_book_within_bound": max(put_seconds) <= PUT_BOUND_SECONDS,
            "hiring_gaps_cold_seconds": round(gaps_cold, 2),
            "load_generator": generator,
            "clients": clients,
            "seconds_per_route": seconds,
            "routes": load,
            "p95_within_bound": all(
                r["p95_ms"] <= P95_BOUND_MS and not r["errors"]
                for route, r in load.items()
                if route != "/healthz"
            ),
        }
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per route")
    parser.add_argument("--put-runs", type=int, default=3)
    parser.add_argument("--httpx", action="store_true", help="use the asyncio+httpx load generator, not wrk")
    parser.add_argument("-o", "--output", help="also write the results JSON here")
    args = parser.parse_args()
    book = _book(args.accounts)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {
        "cpus": os.cpu_count(),
        "book_bytes": len(book),
        "runs": [
            run_backend(b, book, args.clients, args.seconds, args.put_runs, args.httpx) for b in backends
        ],
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0 if all(r["p95_within_bound"] and r["put_book_within_bound"] for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
