"""``python -m benchmarks``: build a synthetic department and measure KIM League against it.

Prints a table for people, then, as the very last line of stdout, one JSON object with every
figure (seconds, ratios, megabytes) and a ``goals`` object judging each goal of issue 12.
Progress goes to stderr. ``--scale`` runs several department sizes and prints how each figure
grows instead. See ``--help``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import DEFAULT_ROUNDS, DEFAULT_SEED, DEFAULT_TEAMS, GOALS, PG_ROUNDS, PG_TEAMS, POSTGRES_ENV

BACKENDS = ("sqlite", "postgres", "both")
DEFAULT_SCALES = "1000,10000,50000"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure KIM League on a synthetic department: reading and ingesting a "
                    "return, the league table, the league page (AppTest and in Chromium beside "
                    "a floor app). The last line printed is JSON with every figure.")
    p.add_argument("--teams", type=int, default=DEFAULT_TEAMS, help="teams in the department (default %(default)s)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="stored rounds (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed (default %(default)s)")
    p.add_argument("--teams-per-directorate", type=int, default=50, help=argparse.SUPPRESS)
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help=f"where the department is stored: sqlite, postgres or both (default: both "
                        f"when a PostgreSQL URL is given by --pg or {POSTGRES_ENV}, else sqlite)")
    p.add_argument("--pg", metavar="URL", default=None,
                   help=f"the PostgreSQL server to use (default: {POSTGRES_ENV}); every run makes "
                        "its own uniquely named schema there and drops it at the end")
    p.add_argument("--pg-teams", type=int, default=None,
                   help=f"with --backend both, the PostgreSQL league's department (default "
                        f"{PG_TEAMS:,} teams; under --scale, the scale's)")
    p.add_argument("--pg-rounds", type=int, default=None,
                   help=f"with --backend both, its stored rounds (default {PG_ROUNDS}; under "
                        "--scale, --rounds)")
    p.add_argument("--repeat", type=int, default=3,
                   help="timed repeats of each quick figure; the median is reported "
                        "(default %(default)s)")
    p.add_argument("--visits", type=int, default=7,
                   help="later browser visits of each app, taken in turn (a visit varies by a "
                        "few tenths of a second); the median is reported (default %(default)s)")
    p.add_argument("--skip-naive", action="store_true", help="leave out the naive pandas+ORM ingest")
    p.add_argument("--skip-page", action="store_true",
                   help="leave out the Streamlit page (AppTest and browser)")
    p.add_argument("--skip-browser", action="store_true",
                   help="leave out the browser figures (they are left out anyway when "
                        "/usr/bin/chromium or Playwright is missing)")
    p.add_argument("--page", default=None,
                   help="the script AppTest runs (default: dashboard.py, which lands the Board on "
                        "pages/league_table.py)")
    p.add_argument("--page-timeout", type=float, default=600.0,
                   help="seconds allowed for each run of the page or browser visit (default %(default)s)")
    p.add_argument("--profile", metavar="DIR",
                   help="also write cProfile reports (top 25 by cumulative time, with the .prof "
                        "files) of the ingest, the league read and the page's cold and warm runs "
                        "to DIR; the profiled runs are extra and not timed")
    p.add_argument("--scale", nargs="?", const=DEFAULT_SCALES, metavar="TEAMS,TEAMS,...",
                   help=f"run at each department size (default {DEFAULT_SCALES}) and print how "
                        "each figure grows: a markdown table, then JSON")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the generated files, SQLite databases and server logs here "
                        "(default: a temporary folder, removed at the end)")
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
    pg_url = args.pg or os.environ.get(POSTGRES_ENV)
    backend = args.backend or ("both" if pg_url else "sqlite")
    if backend != "sqlite" and not pg_url:
        print(f"--backend {backend} needs a PostgreSQL URL: --pg URL or {POSTGRES_ENV}, for "
              f"example {POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test", file=sys.stderr)
        return 2
    try:
        scales = [int(n) for n in args.scale.split(",")] if args.scale else [args.teams]
    except ValueError:
        print(f"--scale takes team counts separated by commas, for example {DEFAULT_SCALES}",
              file=sys.stderr)
        return 2
    if min(scales) < 1 or args.rounds < 1 or args.repeat < 1 or args.visits < 1:
        print("--teams, --scale, --rounds, --repeat and --visits must be at least 1", file=sys.stderr)
        return 2

    log = Run()
    if not args.scale:
        figures = run_once(args, backend, pg_url, log)
        print(table(figures))
        return _emit(args, figures)

    runs = []
    for teams in scales:
        one = copy.copy(args)
        one.teams = teams
        # Under --scale the PostgreSQL league grows with the rest unless told otherwise.
        one.pg_teams = args.pg_teams or teams
        one.pg_rounds = args.pg_rounds or args.rounds
        one.profile = str(Path(args.profile) / str(teams)) if args.profile else None
        one.workdir = str(Path(args.workdir) / str(teams)) if args.workdir else None
        log(f"--scale: {teams:,} teams")
        runs.append(run_once(one, backend, pg_url, log))
    report = growth(runs)
    print(growth_table(report))
    return _emit(args, report)


def _emit(args: argparse.Namespace, figures: dict) -> int:
    line = json.dumps(figures, sort_keys=False)
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(line + "\n", encoding="utf-8")
    print(line, flush=True)
    return 0


def run_once(args: argparse.Namespace, backend: str, pg_url: str | None, log: Run) -> dict:
    """One department, every figure, the goals judged."""
    # Imported here so --help stays instant.
    from .suite import Suite
    start = time.perf_counter()
    load_start = _loadavg()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kim-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        suite = Suite(args=args, backend=backend, pg_url=pg_url, workdir=workdir, log=log)
        figures = suite.run()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["total_s"] = round(time.perf_counter() - start, 1)
    # Other work on the machine moves wall times; the load average says how busy it was.
    figures["loadavg_start"], figures["loadavg_end"] = load_start, _loadavg()
    figures.update(_environment())
    figures["goals"] = goals(figures)
    figures["goals_met"] = {name: g["met"] for name, g in figures["goals"].items()}
    return figures


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def _environment() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


def _scale_of(name: str, figures: dict) -> int:
    """The department, in teams, a figure was measured on."""
    if name.startswith("pg_"):
        return figures.get("pg_teams") or figures.get("teams", 0)
    return figures.get("teams", 0)


def goals(figures: dict) -> dict[str, dict]:
    """Every goal of issue 12 with the figure it judges: the value (None when left out), the
    goal, the figure before the work, and met: True or False, or None when the figure was
    left out or the department is smaller than the goal's."""
    out = {}
    for name, op, bound, before, at_teams in GOALS:
        value = figures.get(name)
        scale = _scale_of(name, figures)
        if value is None or scale < at_teams:
            met = None
        else:
            met = value <= bound if op == "<=" else value >= bound
        out[name] = {"value": value, "goal": f"{op} {bound:g}", "met": met, "before": before,
                     "judged_at_teams": at_teams, "measured_at_teams": scale}
    return out


def goals_met(figures: dict) -> dict[str, bool | None]:
    """Each goal: True or False when its figure was measured at its scale, None otherwise."""
    return {name: g["met"] for name, g in goals(figures).items()}


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
    ("league_s", "league table (stored results, RAG, ranks, movement)", "s"),
    ("league_vs_fetch", "league / fetch", "x"),
    ("page_preload_s", "kim serve's preload, before it accepts visitors", "s"),
    ("page_first_run_s", "league page, cold (first AppTest run after the preload)", "s"),
    ("page_first_run_fresh_s", "league page, cold in a fresh interpreter (no preload)", "s"),
    ("page_s", "league page, warm (second AppTest run)", "s"),
    ("page_peak_rss_mb", "peak RSS of the AppTest process", "MB"),
    ("browser_floor_cold_s", "browser: floor app, first visit after server start", "s"),
    ("browser_cold_s", "browser: league table, first visit after server start", "s"),
    ("browser_cold_vs_floor", "  cold / floor cold", "x"),
    ("browser_floor_warm_s", "browser: floor app, later visit", "s"),
    ("browser_warm_s", "browser: league table, later visit", "s"),
    ("browser_warm_vs_floor", "  warm / floor warm", "x"),
    ("browser_stale_s", "browser: league table after a save elsewhere", "s"),
    ("browser_stale_vs_floor", "  stale / floor warm", "x"),
    ("peak_rss_mb", "peak RSS of the page process (VmHWM)", "MB"),
    ("floor_peak_rss_mb", "peak RSS of the floor app's server", "MB"),
    ("pg_league_fetch_s", "PostgreSQL: plain select of 2 rounds", "s"),
    ("pg_league_s", "PostgreSQL: league table", "s"),
    ("pg_league_vs_fetch", "PostgreSQL: league / fetch", "x"),
)


def _shown(value, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} {unit}" if unit == "MB" else f"{value:.3f} {unit}"


def table(figures: dict) -> str:
    judged = figures.get("goals") or goals(figures)
    lines = [
        f"KIM League benchmark: {figures['teams']:,} teams × {figures['criteria']} criteria × "
        f"{figures['rounds']} rounds = {figures['stored_scores']:,} stored scores; return of "
        f"{figures['return_rows']:,} rows; backend {figures['backend']}; seed {figures['seed']}",
    ]
    if figures.get("pg_teams") and figures.get("pg_teams") != figures["teams"]:
        lines.append(f"PostgreSQL league on {figures['pg_teams']:,} teams × {figures['pg_rounds']} rounds")
    lines += ["", f"{'figure':<58} {'value':>10}   goal (before)", "-" * 90]
    for key, label, unit in ROWS:
        if key not in figures:
            continue
        goal = ""
        if key in judged:
            g = judged[key]
            verdict = {True: "met", False: "MISSED", None: "not measured"}[g["met"]]
            if g["value"] is not None and g["measured_at_teams"] < g["judged_at_teams"]:
                verdict = f"judged at {g['judged_at_teams']:,} teams"
            goal = f"{g['goal'].replace('<=', '≤').replace('>=', '≥')}: {verdict} ({g['before']:g})"
        lines.append(f"{label:<58} {_shown(figures[key], unit):>10}   {goal}")
    for key in ("page_status", "browser_status"):
        if figures.get(key) not in (None, "ok"):
            lines.append(f"\n{key.split('_')[0]}: {figures[key]}")
    lines.append(f"\nbuilt the department in {figures.get('build_s') or figures.get('pg_build_s') or 0:.1f} s; "
                 f"whole run {figures.get('total_s', 0):.1f} s; load average {figures.get('loadavg_start')} "
                 f"at the start, {figures.get('loadavg_end')} at the end on {figures.get('cpus')} CPUs")
    return "\n".join(lines)


# --scale ----------------------------------------------------------------------------------

def growth(runs: list[dict]) -> dict:
    """How each figure grows from the smallest department to the largest: the values at each
    size, the factor, and the exponent k in value ∝ teams^k (about 1: grows with the
    department; about 0: with one page of rows, or fixed costs)."""
    sizes = [r["teams"] for r in runs]
    figures: dict[str, dict] = {}
    for key, _label, _unit in ROWS:
        values = [r.get(key) for r in runs]
        if all(v is None for v in values):
            continue
        first, last = values[0], values[-1]
        factor = exponent = None
        if isinstance(first, (int, float)) and isinstance(last, (int, float)) and first > 0 and last > 0:
            factor = round(last / first, 2)
            size_first, size_last = _scale_of(key, runs[0]), _scale_of(key, runs[-1])
            if size_last > size_first:
                exponent = round(math.log(last / first) / math.log(size_last / size_first), 2)
        figures[key] = {"values": dict(zip(map(str, sizes), values)), "factor": factor,
                        "exponent": exponent}
    return {"scale": sizes, "rounds": runs[0]["rounds"], "figures": figures,
            "runs": runs}


def growth_table(report: dict) -> str:
    sizes = report["scale"]
    units = {key: unit for key, _label, unit in ROWS}
    head = "| figure | " + " | ".join(f"{n:,} teams" for n in sizes) + " | growth | k in teams^k |"
    lines = [f"How each figure grows ({report['rounds']} rounds; k ≈ 1 grows with the department, "
             "k ≈ 0 with one page of rows)", "", head,
             "|" + "---|" * (len(sizes) + 3)]
    for key, g in report["figures"].items():
        cells = [_shown(v, units[key]) for v in g["values"].values()]
        factor = "—" if g["factor"] is None else f"×{g['factor']:g}"
        exponent = "—" if g["exponent"] is None else f"{g['exponent']:.2f}"
        lines.append(f"| `{key}` | " + " | ".join(cells) + f" | {factor} | {exponent} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
