"""``python -m benchmarks``: build a synthetic department and measure KIM League against it.

Prints a table for people, then, as the very last line of stdout, one JSON object with every
figure (seconds, ratios, megabytes). Progress goes to stderr. See ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import DEFAULT_ROUNDS, DEFAULT_SEED, DEFAULT_TEAMS, GOALS, POSTGRES_ENV

BACKENDS = ("sqlite", "postgres", "both")
# Goals set for a larger department than the default: judged only at that scale.
AT_SCALE = {"pg_league_s": 50_000}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure KIM League on a synthetic department: reading and ingesting a "
                    "return, the league table and the league page. The last line printed is "
                    "JSON with every figure.")
    p.add_argument("--teams", type=int, default=DEFAULT_TEAMS, help="teams in the department (default %(default)s)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="stored rounds (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed (default %(default)s)")
    p.add_argument("--teams-per-directorate", type=int, default=50, help=argparse.SUPPRESS)
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help=f"where the department is stored: sqlite, postgres ({POSTGRES_ENV}) or "
                        f"both (default: both when {POSTGRES_ENV} is set, else sqlite)")
    p.add_argument("--repeat", type=int, default=3,
                   help="timed repeats of each quick figure; the median is reported (default %(default)s)")
    p.add_argument("--skip-naive", action="store_true", help="leave out the naive pandas+ORM ingest")
    p.add_argument("--skip-page", action="store_true", help="leave out the Streamlit page run")
    p.add_argument("--page", default=None,
                   help="the script AppTest runs (default: dashboard.py, which lands the Board on "
                        "pages/league_table.py)")
    p.add_argument("--page-timeout", type=float, default=600.0,
                   help="seconds allowed for each run of the page (default %(default)s)")
    p.add_argument("--profile", metavar="DIR",
                   help="also write pyinstrument reports (ingest, league, page) to DIR; the "
                        "profiled runs are extra and not timed")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the generated files and SQLite databases here (default: a temporary "
                        "folder, removed at the end)")
    p.add_argument("--json-out", metavar="FILE", help="also write the JSON figures to FILE")
    return p


class Run:
    """Progress on stderr with the time since the start."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    pg_url = os.environ.get(POSTGRES_ENV)
    backend = args.backend or ("both" if pg_url else "sqlite")
    if backend != "sqlite" and not pg_url:
        print(f"--backend {backend} needs {POSTGRES_ENV}, for example "
              f"{POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test", file=sys.stderr)
        return 2
    if args.teams < 1 or args.rounds < 1 or args.repeat < 1:
        print("--teams, --rounds and --repeat must be at least 1", file=sys.stderr)
        return 2

    if args.profile:
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            print("--profile needs pyinstrument and py-spy in the virtualenv: "
                  ".venv/bin/pip install pyinstrument py-spy", file=sys.stderr)
            return 2
    # Imported here so --help stays instant.
    from .suite import Suite
    log = Run()
    load_start = _loadavg()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kim-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        suite = Suite(args=args, backend=backend, pg_url=pg_url, workdir=workdir, log=log)
        figures = suite.run()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["total_s"] = round(time.perf_counter() - log.start, 1)
    # Other work on the machine moves wall times; the load average says how busy it was.
    figures["loadavg_start"], figures["loadavg_end"] = load_start, _loadavg()
    figures.update(_environment())
    figures["goals_met"] = goals_met(figures)
    print(table(figures))
    line = json.dumps(figures, sort_keys=False)
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(line + "\n", encoding="utf-8")
    print(line, flush=True)
    return 0


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def _environment() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


def goals_met(figures: dict) -> dict[str, bool | None]:
    """Each goal: True or False when its figure was measured, None when it was left out."""
    out: dict[str, bool | None] = {}
    for name, op, bound in GOALS:
        value = figures.get(name)
        if value is None or (name in AT_SCALE and figures.get("teams", 0) < AT_SCALE[name]):
            out[name] = None
        elif name == "page_s" and not figures.get("page_ok", False):
            out[name] = False
        else:
            out[name] = value <= bound if op == "<=" else value >= bound
    return out


ROWS = (
    # key, label, unit
    ("raw_parse_s", "python-calamine reads every cell (floor)", "s"),
    ("naive_ingest_s", "naive: pandas.read_excel(openpyxl) + ORM add per row", "s"),
    ("ingest_s", "kim ingest (validate + save), in-process CLI", "s"),
    ("ingest_read_s", "  of which: read the workbook", "s"),
    ("ingest_validate_s", "  of which: validate + score", "s"),
    ("ingest_save_s", "  of which: save (one transaction)", "s"),
    ("ingest_vs_raw", "ingest / raw parse", "x"),
    ("naive_vs_ingest", "naive / ingest", "x"),
    ("pg_ingest_s", "kim ingest into PostgreSQL", "s"),
    ("league_fetch_s", "plain select of 2 rounds' scores into pandas", "s"),
    ("league_s", "league table (scores, RAG, ranks, movement)", "s"),
    ("league_vs_fetch", "league / fetch", "x"),
    ("page_first_run_s", "league page, cold (first AppTest run)", "s"),
    ("page_s", "league page, warm (second AppTest run)", "s"),
    ("peak_rss_mb", "peak RSS of the page process", "MB"),
    ("pg_league_fetch_s", "PostgreSQL: plain select of 2 rounds", "s"),
    ("pg_league_s", "PostgreSQL: league table", "s"),
    ("pg_league_vs_fetch", "PostgreSQL: league / fetch", "x"),
)


def table(figures: dict) -> str:
    goals = {name: (op, bound) for name, op, bound in GOALS}
    met = figures.get("goals_met", {})
    lines = [
        f"KIM League benchmark: {figures['teams']:,} teams × {figures['criteria']} criteria × "
        f"{figures['rounds']} rounds = {figures['stored_scores']:,} stored scores; return of "
        f"{figures['return_rows']:,} rows; backend {figures['backend']}; seed {figures['seed']}",
        "",
        f"{'figure':<58} {'value':>10}   goal",
        "-" * 84,
    ]
    for key, label, unit in ROWS:
        if key not in figures:
            continue
        value = figures[key]
        shown = "—" if value is None else (f"{value:,.0f} {unit}" if unit == "MB" else f"{value:.3f} {unit}")
        goal = ""
        if key in goals:
            op, bound = goals[key]
            verdict = {True: "met", False: "MISSED", None: "not measured"}[met.get(key)]
            if key in AT_SCALE and figures["teams"] < AT_SCALE[key]:
                verdict = "not judged at this scale"
            scope = " at 50k teams" if key == "pg_league_s" else ""
            goal = f"{'≤' if op == '<=' else '≥'} {bound:g}{scope}: {verdict}"
        lines.append(f"{label:<58} {shown:>10}   {goal}")
    if figures.get("page_status") not in (None, "ok"):
        lines.append(f"\npage: {figures['page_status']}")
    lines.append(f"\nbuilt the department in {figures.get('build_s') or figures.get('pg_build_s') or 0:.1f} s; "
                 f"whole run {figures.get('total_s', 0):.1f} s; load average {figures.get('loadavg_start')} "
                 f"at the start, {figures.get('loadavg_end')} at the end on {figures.get('cpus')} CPUs")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
