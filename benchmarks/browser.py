"""Browser figures: the dashboard and a floor app served side by side, timed in Chromium.

The dashboard runs as ``kim serve`` runs it (``serve.py``: ``streamlit run dashboard.py`` after
loading its libraries), the floor app under plain ``streamlit run``, on loopback ports, started
together; Debian's Chromium (through
Playwright, never a downloaded browser) opens each in a new browser context and the clock runs
from navigation until the first data grid is drawn (``st.dataframe``'s grid in the page and on
screen). The floor app (``floor_app.py``) imports the same libraries and shows one 100-row
table, so dividing by it cancels the machine: what is left is the dashboard's own cost.

Visits, in order: each app's first visit after its server started (cold), ``repeat`` later
visits of each (warm, the median kept), then a return is saved elsewhere (through the command
line's code, so the data version moves) and the dashboard visited once more (stale).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = PROJECT_ROOT / "dashboard.py"
LAUNCHER = PROJECT_ROOT / "serve.py"     # what `kim serve` runs: the dashboard, preloaded
FLOOR_APP = Path(__file__).resolve().with_name("floor_app.py")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The grid Streamlit's st.dataframe draws (glide-data-grid keeps an accessible table in it).
FRAME = "[data-testid=stDataFrame]"
GRID = FRAME + " table[role=grid]"
START_TIMEOUT_S = 120


def chromium_missing() -> str | None:
    """Why the browser figures cannot be taken here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed in this virtualenv"
    return None


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


def peak_rss_mb(pid: int) -> float | None:
    """A process's own high-water mark of resident memory (VmHWM in /proc/PID/status), in MB
    of 2**20 bytes; None where /proc is not there."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Server:
    name: str
    base: str
    pid: int
    log: Path

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)


@contextmanager
def serve(script: Path, *, name: str, env: dict[str, str], log_path: Path,
          start_timeout: float = START_TIMEOUT_S, extra_args: tuple[str, ...] = ()) -> Iterator[Server]:
    """``streamlit run SCRIPT`` on a free loopback port until the block ends; the dashboard
    through its launcher, as `kim serve` starts it. The browser tests serve it this way too.

    ``extra_args`` go to Streamlit, with ``{port}`` in them replaced by the port chosen; the
    server's output goes to ``log_path``.
    """
    port = _free_port()
    start = ([sys.executable, str(LAUNCHER)] if script == DASHBOARD
             else [sys.executable, "-m", "streamlit", "run", str(script)])
    cmd = [*start,
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", *(a.replace("{port}", str(port)) for a in extra_args)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(base + "_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; its log {log_path} ends:\n"
                                   + log_path.read_text()[-2000:])
            time.sleep(0.1)
        yield Server(name, base, proc.pid, log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def visit(browser, base: str, *, timeout_s: float, expect_text: str | None = None) -> float:
    """Seconds from navigation until the page's first data grid is on screen, in a new browser
    context (no cookies, no cache, a new Streamlit session). ``expect_text``, checked after the
    clock stops, makes sure the page drawn was the one meant."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    context.set_default_timeout(timeout_s * 1000)
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(base)
        page.wait_for_selector(GRID, state="attached")
        page.locator(FRAME).first.wait_for(state="visible")
        elapsed = time.perf_counter() - start
        if expect_text:
            page.get_by_text(expect_text).first.wait_for(state="attached")
        return elapsed
    finally:
        context.close()


def browser_figures(database_url: str, *, repeat: int, save: Callable[[], None],
                    log_dir: Path, timeout_s: float, league_round: str, saved_round: str,
                    log: Callable[[str], None]) -> dict:
    """Serve the dashboard on ``database_url`` and the floor app, time the visits, and return
    the figures (seconds, ratios to the floor, the dashboard server's peak memory)."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "KIM_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    env.pop("KIM_ROLE", None)   # local mode: the KIM team, who land on the league table
    f: dict = {}
    with ExitStack() as stack:
        log("browser: starting the dashboard (as kim serve does) and the floor app (streamlit run)")
        dash = stack.enter_context(serve(DASHBOARD, name="dashboard", env=env,
                                         log_path=log_dir / "dashboard-server.log"))
        floor = stack.enter_context(serve(FLOOR_APP, name="floor", env=env,
                                          log_path=log_dir / "floor-server.log"))
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        # Chromium's own first page (its caches, the renderer) is paid here, untimed.
        blank = browser.new_page()
        blank.goto("about:blank")
        blank.close()

        def league(expect: str) -> float:
            return visit(browser, dash.base, timeout_s=timeout_s, expect_text=f"League of teams, {expect}")

        def floor_visit() -> float:
            return visit(browser, floor.base, timeout_s=timeout_s, expect_text="Floor")

        log("browser: first visits (cold), the floor app then the dashboard")
        f["browser_floor_cold_s"] = floor_visit()
        f["browser_cold_s"] = league(league_round)
        warm, floor_warm = [], []
        log(f"browser: later visits (warm) ×{repeat}, each in a new browser context")
        for _ in range(repeat):
            floor_warm.append(floor_visit())
            warm.append(league(league_round))
        f["browser_floor_warm_s"] = statistics.median(floor_warm)
        f["browser_warm_s"] = statistics.median(warm)
        f["browser_warm_runs"] = warm
        f["browser_floor_warm_runs"] = floor_warm
        log(f"browser: a return for {saved_round} saved elsewhere, then a visit (stale)")
        save()
        f["browser_stale_s"] = league(saved_round)
        f["peak_rss_mb"] = dash.peak_rss_mb()
        f["floor_peak_rss_mb"] = floor.peak_rss_mb()
    return f
