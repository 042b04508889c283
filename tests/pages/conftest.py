"""Fixtures for the page tests: a migrated SQLite database holding the demo book with an ops, an hr and a
scheduler key; the app on it (TestClient), or served by uvicorn on a free port for the browser tests; and
Debian's chromium driven by Playwright, with console errors collected and screenshots saved."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pages_support import CHROMIUM, CHROMIUM_ARGS, Service, Tab, free_port, page_settings, prepare_database

from app.main import create_app


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("pages-template") / "bookplan.db"
    return path, prepare_database(path)


@pytest.fixture
def demo_database(tmp_path: Path, demo_template: tuple[Path, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """A fresh copy of the demo database for one test (keys are the template's)."""
    path = tmp_path / "bookplan.db"
    shutil.copy(demo_template[0], path)
    return f"sqlite:///{path}", demo_template[1]


@pytest.fixture
def client(demo_database: tuple[str, dict[str, str]]) -> Iterator[TestClient]:
    """The app on the demo database, lifespan started; `client.keys` holds a key per scope."""
    url, keys = demo_database
    with TestClient(create_app(page_settings(url)), follow_redirects=False) as test_client:
        test_client.keys = keys  # type: ignore[attr-defined]
        yield test_client


# ---------------------------------------------------------------- the live server and the browser


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on the demo book, served by uvicorn in a thread on 127.0.0.1 (stopped at the end)."""
    import uvicorn

    path = tmp_path_factory.mktemp("pages-live") / "bookplan.db"
    keys = prepare_database(path)
    database_url = f"sqlite:///{path}"
    port = free_port()
    config = uvicorn.Config(
        create_app(page_settings(database_url)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="pages-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start for the page tests")
        time.sleep(0.05)
    yield Service(url=f"http://127.0.0.1:{port}", database_url=database_url, keys=keys)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (the browser tests drive it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_tab(browser: Any, live_service: Service) -> Iterator[Callable[[], Tab]]:
    """New browser contexts (separate cookies) on the live service; each must end with no console error."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    def make() -> Tab:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = Tab(context.new_page(), live_service)
        tabs.append(tab)
        return tab

    yield make
    for context in contexts:
        context.close()
    errors = [e for tab in tabs for e in tab.errors]
    assert not errors, f"console errors: {errors}"
