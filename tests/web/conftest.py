"""The web pages: a TestClient per role, and the real app under uvicorn with Debian's Chromium.

The browser tests start the application on a free loopback port in a thread, on a fresh database
of each backend (SQLite and PostgreSQL, the store's fixtures), and drive it with Playwright in
the Chromium that Debian packages (``/usr/bin/chromium``, installed by ``.ci/run``): Playwright's
own browser download is never used. One browser serves the whole session. Screenshots land in
``test-artifacts/web/`` (git-ignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ertplan.app import create_app
from ertplan.service.settings import Settings
from ertplan.store import repositories as repo
from ertplan.store.db import session_factory, transaction
from ertplan.store.models import ROLES
from tests.service.conftest import NOW, PASSWORD, Clinic, clinic, password_hash

__all__ = ["NOW", "PASSWORD", "Clinic", "clinic", "password_hash"]

CHROMIUM = Path("/usr/bin/chromium")
# the machine's network is closed: nothing in Chromium may try to reach out
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the browser tests save their screenshots and printed PDFs."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveApp:
    """The application served over HTTP at `url`."""

    url: str
    engine: Engine


@pytest.fixture
def live_app(engine: Engine, password_hash: str) -> Iterator[LiveApp]:
    """The real application under uvicorn on a fresh database, with one user per role (and
    ``pharmacist-2``), all with :data:`PASSWORD`; its clock stands at :data:`NOW`."""
    import uvicorn

    with transaction(session_factory(engine)) as session:
        for name in (*ROLES, "pharmacist-2"):
            repo.add_user(session, actor=None, username=name, role=name.removesuffix("-2"),
                          password_hash=password_hash, now=NOW)
    app = create_app(engine=engine, settings=Settings(database_url=None, vial_sizes=None),
                     clock=lambda: NOW)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           ws="none", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web application did not start")
        time.sleep(0.02)
    try:
        yield LiveApp(url=f"http://127.0.0.1:{port}", engine=engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright, one for the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
                    "chromium; bash .ci/run does)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh browser context (no cookies) at tablet size, on the live application."""
    context = browser.new_context(base_url=live_app.url, locale="en-GB",
                                  viewport={"width": 1024, "height": 1366})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
