"""The dashboard served on a loopback port and pages drawn in Debian's headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60
# Streamlit marks its root element with the script's state; "notRunning" means the page is drawn.
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def run_dashboard(database_url: str, *, log_name: str, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve the dashboard on a free loopback port until the block ends; yields its base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "KIM_DATABASE_URL": database_url}
    env.pop("KIM_ROLE", None)   # a local user: every page
    # As `kim serve` starts it: serve.py preloads the pages' libraries, then runs Streamlit.
    cmd = [sys.executable, "serve.py",
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", *[a.replace("{port}", str(port)) for a in extra_args]]
    log_path = ARTIFACTS / f"{log_name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(base + "_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The dashboard did not start; see {log_path}:\n"
                                   + log_path.read_text()[-2000:])
            time.sleep(0.25)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


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
