"""Child process: run the league page through Streamlit's AppTest and report on one JSON line.

``python -m benchmarks.page --page pages/league_table.py`` with KIM_DATABASE_URL set. The
page runs once to fill its caches, then again, timed: that second run is what a person
waits for once the dashboard is warm. The process reports its own peak memory (ru_maxrss),
so the figure covers the page's imports, data and rendering and nothing of the parent's.
With ``--profile`` py-spy samples the cold run and a third run (the timed warm run is left
alone); the page runs in AppTest's script thread, which an in-process profiler would miss.
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


def profiled(run, out: Path) -> float:
    """Call ``run()`` while py-spy samples this process (without pausing it); a summary to
    ``out``, the raw collapsed stacks beside it. Returns how long ``run()`` took."""
    import shutil
    import signal
    import subprocess
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out.with_suffix(".raw.txt")
    proc = subprocess.Popen([spy, "record", "--pid", str(os.getpid()), "--rate", "250",
                             "--format", "raw", "--full-filenames", "--nonblocking", "-o", str(raw)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)   # py-spy attaches
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    if raw.exists():
        from .profiles import summarise_collapsed
        out.write_text(summarise_collapsed(raw.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        out.write_text("py-spy wrote nothing: " + proc.stderr.read().decode(errors="replace"))
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page")
    parser.add_argument("--page", required=True,
                        help="the script for AppTest: dashboard.py (it lands on the role's page) "
                             "or a page that runs on its own")
    parser.add_argument("--role", default="executive",
                        help="the dashboard role to view as (default: executive, who lands on the "
                             "league table)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument("--profile", help="sample the cold run and a third (warm) run with py-spy "
                        "and write summaries here (FILE and FILE-cold); timings are then rough")
    args = parser.parse_args(argv)
    _die_with_parent(3 * args.timeout + 30)

    from streamlit.testing.v1 import AppTest

    page = Path(args.page).resolve()
    os.environ["KIM_ROLE"] = args.role
    app = AppTest.from_file(str(page), default_timeout=args.timeout)
    app.session_state["role"] = args.role
    if args.profile:
        profile = Path(args.profile)
        first = profiled(app.run, profile.with_name(profile.stem + "-cold" + profile.suffix))
    else:
        start = time.perf_counter()
        app.run()
        first = time.perf_counter() - start
    problems = [str(e.value) for e in app.exception]
    start = time.perf_counter()
    app.run()
    warm = time.perf_counter() - start
    if args.profile:
        profiled(app.run, Path(args.profile))
    problems += [str(e.value) for e in app.exception]
    report = {
        "first_run_s": first,
        "page_s": warm,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dataframes": len(app.dataframe),
        "titles": [t.value for t in app.title],
        "exceptions": problems,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
