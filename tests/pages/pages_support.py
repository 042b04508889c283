"""Helpers of the page tests: the demo database with a key per scope, settings, signing in, and a browser
tab that records console errors and takes screenshots."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database, migrate
from app.services.book import replace_book
from app.services.keys import create_key
from solver.io import load_book

ROOT = Path(__file__).resolve().parents[2]
DEMO_BOOK = ROOT / "fixtures" / "demo_book.json"
ARTIFACTS = ROOT / "test-artifacts" / "pages"
# Overridable so the "chromium missing" path can be tried without uninstalling it.
CHROMIUM = Path(os.environ.get("BOOKPLAN_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Service:
    url: str
    database_url: str
    keys: dict[str, str]


def page_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        solve_time_limit_seconds=5,
        job_hard_deadline_grace_seconds=10,
        runner_poll_seconds=0.2,
        api_key_cache_seconds=0,
        cp_sat_workers=1,
    )


def prepare_database(path: Path) -> dict[str, str]:
    """Migrate `path`, load the demo book, and create one key per scope; returns the keys."""
    url = f"sqlite:///{path}"
    migrate(url)
    db = Database(url)
    try:
        with db.write_session() as session:
            replace_book(session, load_book(str(DEMO_BOOK)), "test")
        keys = {}
        for scope in ("ops", "hr", "scheduler"):
            with db.session() as session:
                keys[scope] = create_key(session, [scope], name=f"pages-{scope}")[1]
        return keys
    finally:
        db.dispose()


def login_token(client: TestClient) -> str:
    """The sign-in form's token, as a browser gets it by opening the form (its cookie lands in `client`)."""
    client.cookies.delete("bookplan_session")  # a signed-in visitor is sent on from the form
    page = client.get("/login")
    marker = 'name="login_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def post_login(client: TestClient, key: str, url: str = "/login", **fields: str) -> Any:
    """Posts the sign-in form the way the page does: opened first, its token sent back."""
    return client.post(url, data={"key": key, "login_token": login_token(client), **fields})


def sign_in(client: TestClient, scope: str) -> str:
    """Signs `client` in with the key of `scope`; returns the CSRF token of its pages."""
    response = post_login(client, client.keys[scope], next="/")  # type: ignore[attr-defined]
    assert response.status_code == 303, response.text
    page = client.get("/gaps" if scope == "hr" else "/plans")
    assert page.status_code == 200, page.text
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tab:
    """A browser page on the live service that records console errors and failed scripts."""

    def __init__(self, page: Any, service: Service) -> None:
        self.page = page
        self.service = service
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.service.url + path)

    def sign_in(self, scope: str) -> None:
        self.goto("/login")
        self.page.get_by_label("API key").fill(self.service.keys[scope])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def shoot(self, name: str) -> list[Path]:
        """Screenshots of the current page at 1280 px and 390 px wide (test artifacts)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        paths = []
        for width, height in ((1280, 800), (390, 844)):
            self.page.set_viewport_size({"width": width, "height": height})
            path = ARTIFACTS / f"{name}-{width}.png"
            self.page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        self.page.set_viewport_size({"width": 1280, "height": 800})
        return paths
