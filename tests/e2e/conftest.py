"""End-to-end fixtures: one dashboard server on a demo database, and Debian's headless Chromium.

The server is started once for the session (``streamlit run dashboard.py`` on a free port,
``KIM_DATABASE_URL`` pointing at a temporary SQLite file with the demo department) and killed
after. The browser is Debian's ``/usr/bin/chromium`` (CI's .ci/run installs it); Playwright
never downloads one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kim_metrics.storage.engine import make_engine
from kim_metrics.services.demo import load_demo
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, run_dashboard


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("e2e") / "kim.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    load_demo(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def server(e2e_database) -> Iterator[str]:
    """The dashboard's base URL in local mode; the server runs for the whole session."""
    with run_dashboard(e2e_database, log_name="e2e-server") as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (CI's .ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-GB")
    context.set_default_timeout(20_000)
    pg = context.new_page()
    yield pg
    context.close()
