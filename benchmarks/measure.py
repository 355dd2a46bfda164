"""One function per figure. Each returns seconds (and what it measured, for the table).

Timings use ``time.perf_counter``. Figures that are cheap to repeat are taken ``repeat``
times after one untimed warm-up and the median is kept, so one hiccup of a shared 2-core
machine does not decide a goal; ingest runs ``repeat`` times too, each into a fresh database.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.storage.models import CriteriaVersion, Directorate, Return, Round, Score, Team
from kim_metrics.domain.rounds import start_date

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The dashboard, viewed as the Board (executive), lands on pages/league_table.py; a page run on
# its own is sent back through the dashboard's navigation, so the dashboard is what AppTest runs.
DASHBOARD = PROJECT_ROOT / "dashboard.py"
LEAGUE_PAGE_FILE = PROJECT_ROOT / "pages" / "league_table.py"
LEAGUE_TITLE = "league table"
# The columns of one round's scores that the league reads (those of store.round_scores).
FETCH_COLUMNS = (Score.id, Score.return_id, Score.team_id, Score.criterion, Score.claimed_raw,
                 Score.claimed, Score.evidence, Score.evidence_link, Score.comment,
                 Score.review_status, Score.reviewed_value, Score.reviewer, Score.review_note)


def write_profile(profile, out: Path, *, title: str, top: int = 25) -> None:
    """The top ``top`` functions of a cProfile run by cumulative time to ``out``, and the whole
    profile beside it (``.prof``, for pstats, snakeviz or gprof2dot)."""
    import pstats
    out.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(top)
    out.write_text(f"{title}\n{text.getvalue()}", encoding="utf-8")
    profile.dump_stats(str(out.with_suffix(".prof")))


def cprofiled(fn: Callable[[], object], out: Path, *, title: str) -> object:
    """Call ``fn`` under cProfile (this thread only) and write the report to ``out``."""
    import cProfile
    profile = cProfile.Profile()
    profile.enable()
    try:
        return fn()
    finally:
        profile.disable()
        write_profile(profile, out, title=title)


@dataclass
class Timing:
    seconds: float            # median wall time
    runs: list[float]         # every timed run's wall time
    cpu_seconds: float = 0.0  # median CPU time of this process (not a database server's)


def timed(fn: Callable[[], object], *, repeat: int = 1, warmup: int = 0,
          setup: Callable[[], object] | None = None) -> tuple[Timing, object]:
    """Median of ``repeat`` timed calls of ``fn`` (``setup`` runs untimed before each call;
    when it returns something, ``fn`` is given it)."""
    result = None
    for _ in range(warmup):
        arg = setup() if setup else None
        result = fn(arg) if setup else fn()
    runs, cpu = [], []
    for _ in range(max(1, repeat)):
        arg = setup() if setup else None
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(arg) if setup else fn()
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return Timing(statistics.median(runs), runs, statistics.median(cpu)), result


# Reading ---------------------------------------------------------------------------------

def raw_parse(path: Path) -> int:
    """python-calamine reading every cell of the first sheet: the floor for any reader."""
    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_path(str(path)) as book:
        rows = book.get_sheet_by_index(0).to_python()
    return len(rows)


# Ingest ----------------------------------------------------------------------------------

def ingest_cli(path: Path, url: str, round_label: str) -> str:
    """``kim ingest FILE --round R --db URL`` in this process, exactly as the command runs it:
    engine, schema check, read, validate, score, save. Output is captured, not printed."""
    from kim_metrics import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["ingest", str(path), "--round", round_label, "--db", url])
    if code != 0:
        raise RuntimeError(f"kim ingest failed with exit code {code}:\n{err.getvalue()[-3000:]}")
    return out.getvalue().strip()


def ingest_stages(path: Path, engine: Engine, round_label: str) -> dict[str, float]:
    """The same ingest through the API, stage by stage (reading is part of check_return),
    as the command's local admin."""
    from kim_metrics.cli import LOCAL_ADMIN
    from kim_metrics.reading.reader import read_workbook
    data = path.read_bytes()
    start = time.perf_counter()
    read_workbook(data, file_name=path.name)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    preview = return_service.check_return(engine, data, path.name, round_label, uploader=LOCAL_ADMIN)
    check_s = time.perf_counter() - start
    start = time.perf_counter()
    return_service.save_preview(engine, preview, uploader=LOCAL_ADMIN)
    save_s = time.perf_counter() - start
    return {"ingest_read_s": read_s, "ingest_validate_s": check_s - read_s,
            "ingest_check_s": check_s, "ingest_save_s": save_s}


def naive_ingest(path: Path, engine: Engine, round_label: str, criteria: CriteriaSet) -> int:
    """What a quick script would do: pandas.read_excel through openpyxl, then one ORM object
    per row added to a session, and a commit. No validation beyond what crashes."""
    frame = pd.read_excel(path, engine="openpyxl")
    by_name = {c.name: c for c in criteria}
    with Session(engine) as session:
        teams = {(d, t): i for i, t, d in session.execute(
            select(Team.id, Team.name, Directorate.name).join(Directorate))}
        version = session.scalar(select(CriteriaVersion.id).order_by(CriteriaVersion.id.desc()))
        rnd = Round(label=round_label, start_date=start_date(round_label),
                    criteria_version_id=version, opened_by="script")
        session.add(rnd)
        session.flush()
        ret = Return(round_id=rnd.id, file_name=path.name, file_hash="", uploader="script",
                     layout="long", team_count=0, score_count=len(frame))
        session.add(ret)
        session.flush()
        for row in frame.itertuples(index=False):
            c = by_name[row.Criterion]
            raw = row.Score
            if isinstance(raw, str):
                if raw in c.levels:
                    claimed = float(c.levels.index(raw))
                elif raw.endswith("%"):
                    claimed = float(raw[:-1])
                else:
                    claimed = 1.0 if raw == "Yes" else 0.0
            else:
                claimed = float(raw)
            session.add(Score(
                return_id=ret.id, round_id=rnd.id, team_id=teams[(row.Directorate, row.Team)],
                criterion=c.id, claimed_raw=str(raw), claimed=claimed,
                evidence="" if pd.isna(row.Evidence) else str(row.Evidence),
                evidence_link="" if pd.isna(row[6]) else str(row[6]),
                comment="" if pd.isna(row.Comment) else str(row.Comment),
                current=True, review_status="self-declared"))
        session.commit()
    return len(frame)


# League ----------------------------------------------------------------------------------

def league_fetch(engine: Engine, round_ids: list[int]) -> list[pd.DataFrame]:
    """The floor for a league: a plain select of each round's counting scores into pandas."""
    with engine.connect() as conn:
        return [pd.read_sql(select(*FETCH_COLUMNS).where(Score.round_id == rid,
                                                         Score.current.is_(True)), conn)
                for rid in round_ids]


def league(engine: Engine, round_label: str) -> pd.DataFrame:
    """The whole league table for a round: scores, RAG, ranks and movement."""
    return league_service.league(engine, round_label).table


# The dashboard page ------------------------------------------------------------------------

def page_in_child(url: str, page: Path = DASHBOARD, *, timeout: float = 600.0,
                  profile: Path | None = None, preload: bool = False) -> dict:
    """Run the page twice through AppTest in a fresh Python process (``benchmarks.page``) with
    KIM_DATABASE_URL set to ``url``, after ``kim serve``'s preload when ``preload``; its report:
    preload_s, first_run_s, page_s (the warm second run),
    peak_rss_mb (the child's own VmHWM), the titles shown and any exception raised.
    ``timeout`` bounds each run; the child as a whole gets three of them and a minute."""
    env = dict(os.environ, KIM_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "benchmarks.page", "--page", str(page), "--timeout", str(timeout)]
    if profile:
        cmd += ["--profile", str(profile)]
    if preload:
        cmd.append("--preload")
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=3 * timeout + 60)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the page run failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(lines[-1])
    # The dashboard hides error details from people; the child's log has the real one.
    errors = [ln.strip() for ln in proc.stderr.splitlines()
              if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", ln.strip())]
    report["error_detail"] = errors[-1][:600] if errors else None
    try:
        import resource
        # Linux reports ru_maxrss in KiB: the largest child so far, a cross-check of the report.
        report["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    except ImportError:  # pragma: no cover - not on Windows
        pass
    return report
