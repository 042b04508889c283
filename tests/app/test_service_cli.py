"""The service's CLI verbs: migrate, keys, serve (and its refusal), demo, import/export."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_serve_refuses_an_unmigrated_database_and_says_to_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["serve", "--database-url", url]) == 1
    assert "run `bookplan migrate` first" in capsys.readouterr().err


def test_migrate_then_keys_create_list_and_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'bookplan.db'}"
    assert main(["migrate", "--database-url", url]) == 0
    assert main(["migrate", "--database-url", url]) == 0
    assert "already at" in capsys.readouterr().err
    assert main(["keys", "create", "--scope", "hr", "--name", "people-team", "--database-url", url]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("bp_") and len(key) > 40
    assert main(["keys", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert "people-team" in listing and key not in listing and "active" in listing
    assert main(["keys", "revoke", "people-team", "--database-url", url]) == 0
    main(["keys", "list", "--database-url", url])
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", "nobody", "--database-url", url]) == 2


def test_demo_loads_the_fixture_book_and_prints_an_ops_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    book = ROOT / "fixtures" / "demo_book.json"
    assert main(["demo", "--no-serve", "--database-url", url, "--book", str(book)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("bp_")
    assert "http://127.0.0.1:8000" in captured.err
    accounts = len(json.loads(book.read_text())["accounts"])
    assert f"{accounts} accounts" in captured.err


def test_import_and_export_csv_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bookplan.db'}"
    main(["migrate", "--database-url", url])
    fixtures = ROOT / "fixtures"
    policy, csms, accounts = (
        fixtures / "crm_policy.json",
        fixtures / "crm_csms.csv",
        fixtures / "crm_accounts.csv",
    )
    assert main(["import", str(csms), "--kind", "csms", "--database-url", url]) == 2  # its segments: unknown
    assert "column 'Segments': 'Majors;Corporate'" in capsys.readouterr().err
    assert main(["import", str(policy), "--kind", "policy", "--database-url", url]) == 0
    assert main(["import", str(csms), "--kind", "csms", "--database-url", url]) == 0
    assert main(["import", str(accounts), "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["export", "--database-url", url]) == 0
    book = json.loads(capsys.readouterr().out)
    assert len(book["accounts"]) == 40 and len(book["csms"]) == 6
    assert {a["tier"] for a in book["accounts"]} == {"commercial", "corporate", "majors"}
    bad = tmp_path / "bad.csv"
    bad.write_text("Account Name,ARR,Segment\nAcme,lots,SMB\n")
    assert main(["import", str(bad), "--database-url", url]) == 2
    assert "row 2, column 'ARR'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_nothing_configured_creates_its_sqlite_file_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("BOOKPLAN_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the service did not start within 60 s"
                time.sleep(0.2)
        assert ready.status_code == 200 and ready.json()["migration"]
        assert (tmp_path / "var" / "bookplan.db").exists()
        assert httpx.get(f"http://127.0.0.1:{port}/v1/book", timeout=5).status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
