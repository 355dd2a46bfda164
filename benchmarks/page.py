"""Child process: run the league page through Streamlit's AppTest and report on one JSON line.

``python -m benchmarks.page --page pages/league_table.py`` with KIM_DATABASE_URL set. The
page runs once to fill its caches, then again, timed: that second run is what a person
waits for once the dashboard is warm. With ``--preload`` the process first loads what
``kim serve`` loads before it accepts anyone (``serve.preload``), so the first run is what the
first visitor after a server start waits for. The process reports its own peak memory (VmHWM),
so the figure covers the page's imports, data and rendering and nothing of the parent's.
With ``--profile`` cProfile records the cold and the warm run in AppTest's script thread.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def _die_with_parent(deadline_s: float) -> None:
    """Never outlive the benchmark: end when the parent ends (Linux), or past the deadline.

    A page that reruns itself for ever would otherwise leave an orphan spinning after the
    parent's timeout killed only its direct child."""
    import signal
    import threading
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    parent = os.getppid()

    def watch() -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if os.getppid() != parent:
                break
            time.sleep(1.0)
        print(json.dumps({"error": "the page did not finish in time"}), flush=True)
        os._exit(3)

    threading.Thread(target=watch, name="deadline", daemon=True).start()


class ScriptProfiler:
    """cProfile around the page script, which AppTest runs in a thread of its own (a profiler
    enabled in this thread would see nothing of it): ``ScriptRunner._run_script`` is wrapped
    so the profiler is on in that thread while the script runs."""

    def __init__(self) -> None:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
        self.profile = None
        original = ScriptRunner._run_script
        owner = self

        def _run_script(runner, rerun_data):
            if owner.profile is None:
                return original(runner, rerun_data)
            owner.profile.enable()
            try:
                return original(runner, rerun_data)
            finally:
                owner.profile.disable()

        ScriptRunner._run_script = _run_script

    def run(self, run, out: Path, title: str) -> None:
        import cProfile
        from .measure import write_profile
        self.profile = cProfile.Profile()
        try:
            run()
        finally:
            profile, self.profile = self.profile, None
        write_profile(profile, out, title=title)


def peak_rss_mb() -> float:
    """This process's own high-water mark of resident memory: VmHWM, in MB of 2**20 bytes
    (ru_maxrss where /proc is missing; after an exec it can carry the parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page")
    parser.add_argument("--page", required=True,
                        help="the script for AppTest: dashboard.py (it lands on the role's page) "
                             "or a page that runs on its own")
    parser.add_argument("--role", default="executive",
                        help="the dashboard role to view as (default: executive, who lands on the "
                             "league table)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument("--preload", action="store_true",
                        help="first load what `kim serve` loads before it accepts visitors "
                             "(serve.preload), as the served dashboard has; timed apart")
    parser.add_argument("--profile", help="profile the cold run and the warm run with cProfile "
                        "and write the top 25 functions by cumulative time to FILE-cold and "
                        "FILE-warm (with .prof files beside); timings are then not comparable")
    args = parser.parse_args(argv)
    _die_with_parent(3 * args.timeout + 30)

    preload_s = None
    if args.preload:
        start = time.perf_counter()
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        import serve
        serve.preload()
        preload_s = time.perf_counter() - start

    from streamlit.testing.v1 import AppTest

    page = Path(args.page).resolve()
    os.environ["KIM_ROLE"] = args.role
    app = AppTest.from_file(str(page), default_timeout=args.timeout)
    app.session_state["role"] = args.role
    profiler = ScriptProfiler() if args.profile else None
    out = Path(args.profile) if args.profile else None

    def timed_run(name: str) -> float:
        start = time.perf_counter()
        if profiler:
            profiler.run(app.run, out.with_name(f"{out.stem}-{name}{out.suffix}"),
                         title=f"{page.name} as {args.role}, {name} run (AppTest)")
        else:
            app.run()
        return time.perf_counter() - start

    first = timed_run("cold")
    problems = [str(e.value) for e in app.exception]
    warm = timed_run("warm")
    problems += [str(e.value) for e in app.exception]
    report = {
        "preload_s": preload_s,
        "first_run_s": first,
        "page_s": warm,
        "peak_rss_mb": peak_rss_mb(),
        "dataframes": len(app.dataframe),
        "titles": [t.value for t in app.title],
        "exceptions": problems,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
