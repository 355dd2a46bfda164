"""The dashboard served on a loopback port and pages drawn in Debian's headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# One launcher for the benchmark and the tests; CHROMIUM and CHROMIUM_ARGS are for the tests' browser.
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, DASHBOARD, serve  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
START_TIMEOUT_S = 60
# Streamlit marks its root element with the script's state; "notRunning" means the page is drawn.
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


@contextmanager
def run_dashboard(database_url: str, *, log_name: str, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve the dashboard on a free loopback port until the block ends; yields its base URL.

    Started as `kim serve` starts it, by the benchmark's launcher; the log goes to
    ``tests/artifacts/LOG_NAME.log``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KIM_DATABASE_URL": database_url}
    env.pop("KIM_ROLE", None)   # a local user: every page
    with serve(DASHBOARD, name="The dashboard", env=env, log_path=ARTIFACTS / f"{log_name}.log",
               start_timeout=START_TIMEOUT_S, extra_args=extra_args) as server:
        yield server.base


def open_page(page, server: str, path: str = "") -> None:
    """Go to a page of the dashboard and wait until Streamlit has drawn it."""
    page.goto(server + path)
    page.wait_for_selector(IDLE)
    page.wait_for_selector("h1")


def shot(page, name: str) -> Path:
    """Save the whole page: Streamlit scrolls inside its own container, so grow the window."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 0")
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(height + 40, 6000)})
        page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
