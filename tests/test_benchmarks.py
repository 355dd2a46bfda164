"""The benchmark harness: its synthetic department, its return workbook and its JSON report.

Tiny scales only; the figures themselves come from `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import browser
from benchmarks.__main__ import goals_met, growth, growth_table
from benchmarks.generate import RETURN_HEADERS, generate_department, org_rows, write_return_xlsx
from benchmarks.load import load_department, load_org, sqlite_database
from kim_metrics.services import league as league_service

ROOT = Path(__file__).resolve().parent.parent
from kim_metrics.services import returns as return_service

SEED = 7


@pytest.fixture(scope="module")
def dept():
    return generate_department(30, 3, SEED, teams_per_directorate=10)


def test_department_has_teams_times_criteria_times_rounds_rows(dept):
    scores = dept.all_scores()
    assert len(dept.criteria) == 7
    assert len(scores) == 30 * 7 * 3
    assert set(scores["criterion"]) == set(dept.criteria.ids)
    assert dept.round_labels == ["2021-Q1", "2021-Q2", "2021-Q3"] and dept.return_round == "2021-Q4"
    # Every team has exactly one score per criterion in every round, and only known teams score.
    per_cell = scores.groupby(["round", "team_id", "criterion"]).size()
    assert len(per_cell) == 30 * 7 * 3 and (per_cell == 1).all()
    assert sorted(scores["team_id"].unique()) == dept.teams["team_id"].tolist() == list(range(1, 31))
    # The organisation is consistent: unique names, each team in one directorate of one group.
    teams = dept.teams
    assert teams["team"].is_unique and len(dept.directorates) == 3
    assert (teams.groupby("directorate")["group"].nunique() == 1).all()
    assert set(teams["directorate_id"]) == set(dept.directorates["directorate_id"])
    assert len(org_rows(dept)) == 31
    # Values sit on each criterion's scale.
    for c in dept.criteria:
        values = scores.loc[scores["criterion"] == c.id, "claimed"]
        assert values.between(0, c.top).all() and (values == values.round()).all()


def test_same_seed_same_department_other_seed_differs(dept):
    again = generate_department(30, 3, SEED, teams_per_directorate=10)
    pd.testing.assert_frame_equal(dept.all_scores(), again.all_scores())
    pd.testing.assert_frame_equal(dept.teams, again.teams)
    assert dept.return_rows() == again.return_rows()
    other = generate_department(30, 3, SEED + 1, teams_per_directorate=10)
    assert not dept.all_scores()["claimed"].equals(other.all_scores()["claimed"])


def test_generated_return_reads_back_through_reader_and_validation(dept, tmp_path):
    path = write_return_xlsx(dept, tmp_path / "return.xlsx")
    db = sqlite_database(tmp_path / "kim.db")
    try:
        load_org(db, dept)
        preview = return_service.check_return(db.engine, path.read_bytes(), path.name, dept.return_round)
    finally:
        db.dispose()
    got = preview.parsed.scores.sort_values(["team_id", "criterion"]).reset_index(drop=True)
    want = dept.round_scores(dept.n_rounds).sort_values(["team_id", "criterion"]).reset_index(drop=True)
    assert preview.parsed.layout == "long" and preview.parsed.new_teams.empty
    assert len(got) == 30 * 7
    assert got["team_id"].astype(int).tolist() == want["team_id"].tolist()
    assert got["claimed"].tolist() == want["claimed"].tolist()
    # Labels, "Yes"/"No" and "85%" all appear, so validation parsed more than plain numbers.
    raw = {str(r[4]) for r in dept.return_rows()}
    assert {"Yes", "No"} <= raw and any(v.endswith("%") for v in raw)
    assert any(v in dept.criteria.get("naming").levels for v in raw)
    assert RETURN_HEADERS[:5] == ["Group", "Directorate", "Team", "Criterion", "Score"]


def test_bulk_loaded_department_gives_a_league(dept, tmp_path):
    db = sqlite_database(tmp_path / "kim.db")
    try:
        assert load_department(db, dept) == 30 * 7 * 3
        league = league_service.league(db.engine)
    finally:
        db.dispose()
    assert league.round.label == "2021-Q3" and league.previous.label == "2021-Q2"
    assert len(league.table) == 30 and league.table["rank"].min() == 1


GOAL_FIGURES = ["browser_cold_vs_floor", "browser_warm_vs_floor", "browser_stale_vs_floor",
                "page_first_run_s", "league_s", "pg_league_s", "ingest_vs_raw", "naive_vs_ingest",
                "peak_rss_mb"]


def test_goals_are_judged_only_when_measured_at_their_scale():
    met = goals_met({"teams": 10_000, "ingest_vs_raw": 1.9, "naive_vs_ingest": 9.0,
                     "league_s": None, "page_first_run_s": 0.9, "peak_rss_mb": 500.0,
                     "browser_cold_vs_floor": 1.2, "browser_warm_vs_floor": 1.11,
                     "pg_teams": 10_000, "pg_league_s": 0.1})
    assert met == {"ingest_vs_raw": True, "naive_vs_ingest": False, "league_s": None,
                   "page_first_run_s": True, "peak_rss_mb": False, "browser_cold_vs_floor": True,
                   "browser_warm_vs_floor": False, "browser_stale_vs_floor": None,
                   "pg_league_s": None}
    assert goals_met({"teams": 10_000, "pg_teams": 50_000, "pg_league_s": 0.6})["pg_league_s"] is False
    assert goals_met({"teams": 1_000, "league_s": 0.01})["league_s"] is None


def test_growth_reports_each_figure_by_scale_with_its_exponent():
    runs = [{"teams": n, "rounds": 12, "league_s": 0.001 * n, "page_s": 0.5,
             "pg_teams": n, "pg_league_s": 0.002 * n, "browser_cold_s": None} for n in (1_000, 10_000)]
    report = growth(runs)
    assert report["scale"] == [1_000, 10_000]
    assert report["figures"]["league_s"] == {"values": {"1000": 1.0, "10000": 10.0}, "factor": 10.0,
                                             "exponent": 1.0}
    assert report["figures"]["page_s"]["exponent"] == 0.0
    assert report["figures"]["pg_league_s"]["exponent"] == 1.0
    assert "browser_cold_s" not in report["figures"]
    table = growth_table(report)
    assert "| `league_s` | 1.000 s | 10.000 s | ×10 | 1.00 |" in table
    assert "| `page_s` | 0.500 s | 0.500 s | ×1 | 0.00 |" in table


def _positive_numbers(figures: dict, names: list[str]) -> list[str]:
    return [k for k in names if not (isinstance(figures.get(k), (int, float))
                                     and not isinstance(figures.get(k), bool) and figures[k] > 0)]


FIGURES = ["raw_parse_s", "naive_ingest_s", "ingest_s", "ingest_vs_raw", "naive_vs_ingest",
           "league_fetch_s", "league_s", "league_vs_fetch", "page_first_run_s", "page_s",
           "page_preload_s", "page_first_run_fresh_s",
           "page_peak_rss_mb", "peak_rss_mb"]
BROWSER_FIGURES = ["browser_cold_s", "browser_floor_cold_s", "browser_warm_s", "browser_floor_warm_s",
                   "browser_stale_s", "browser_cold_vs_floor", "browser_warm_vs_floor",
                   "browser_stale_vs_floor", "floor_peak_rss_mb"]
PG_FIGURES = ["pg_league_fetch_s", "pg_league_s", "pg_league_vs_fetch"]


def test_tiny_run_gives_every_figure_as_a_positive_number_and_judges_every_goal(tmp_path, capsys, monkeypatch):
    """The whole harness at 50 teams × 2 rounds: the AppTest page, the browser figures when
    Debian's Chromium is here, PostgreSQL when its URL is set. Figures are not judged here."""
    monkeypatch.delenv("KIM_DATABASE_URL", raising=False)
    browser_here = browser.chromium_missing() is None
    # In a child process: Playwright's sync API refuses to run where another test of this worker
    # left an asyncio loop running.
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--teams", "50", "--rounds", "2",
                           "--repeat", "1", "--visits", "1", "--workdir", str(tmp_path), "--pg-teams", "60",
                           "--pg-rounds", "2", "--page-timeout", "120"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 0, err[-3000:]
    figures = json.loads(out.strip().splitlines()[-1])
    assert "KIM League benchmark" in out and "round 2021-Q1" in err
    wanted = FIGURES + (BROWSER_FIGURES if browser_here else [])
    if os.environ.get("KIM_TEST_POSTGRES_URL"):
        wanted += PG_FIGURES
        assert figures["pg_teams"] == 60 and figures["pg_stored_scores"] == 60 * 7 * 2
    assert _positive_numbers(figures, wanted) == [], (figures.get("page_status"), figures.get("browser_status"))
    assert figures["page_ok"] is True, figures["page_status"]
    assert figures["browser_status"] == ("ok" if browser_here else browser.chromium_missing())
    assert figures["stored_scores"] == 50 * 7 * 2 and figures["return_rows"] == 50 * 7
    assert figures["ingest_vs_raw"] == pytest.approx(figures["ingest_s"] / figures["raw_parse_s"], rel=0.01)
    if browser_here:
        # The server's own peak memory, not the AppTest process's.
        assert figures["peak_rss_source"].startswith("dashboard server")
        assert figures["browser_cold_vs_floor"] == pytest.approx(
            figures["browser_cold_s"] / figures["browser_floor_cold_s"], rel=0.01)
    goals = figures["goals"]
    assert sorted(goals) == sorted(GOAL_FIGURES)
    for name, goal in goals.items():
        assert goal["value"] == figures.get(name), name
        assert goal["goal"].split()[0] in ("<=", ">=") and goal["before"] > 0, goal
        # Judged only at the department size, never at 50 teams.
        assert goal["met"] is None, (name, goal)
