"""The benchmark harness: its synthetic department, its return workbook and its JSON report.

Tiny scales only; the figures themselves come from `make bench`.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from benchmarks.__main__ import goals_met
from benchmarks.__main__ import main as bench_main
from benchmarks.generate import RETURN_HEADERS, generate_department, org_rows, write_return_xlsx
from benchmarks.load import load_department, load_org, sqlite_database
from kim_metrics.services import league as league_service
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


def test_goals_are_judged_only_when_measured():
    met = goals_met({"teams": 10_000, "ingest_vs_raw": 1.9, "naive_vs_ingest": 9.0,
                     "league_vs_fetch": None, "page_s": 1.0, "page_ok": True,
                     "peak_rss_mb": 500.0, "pg_league_s": 1.0})
    assert met == {"ingest_vs_raw": True, "naive_vs_ingest": False, "league_vs_fetch": None,
                   "page_s": True, "peak_rss_mb": False, "pg_league_s": None}
    assert goals_met({"teams": 50_000, "pg_league_s": 2.5})["pg_league_s"] is False


FIGURES = ["raw_parse_s", "naive_ingest_s", "ingest_s", "ingest_vs_raw", "naive_vs_ingest",
           "league_fetch_s", "league_s", "league_vs_fetch", "page_s", "peak_rss_mb"]
PG_FIGURES = ["pg_league_fetch_s", "pg_league_s", "pg_league_vs_fetch"]


def test_tiny_end_to_end_run_prints_every_figure_as_json_last(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KIM_DATABASE_URL", raising=False)
    code = bench_main(["--teams", "20", "--rounds", "2", "--repeat", "1", "--workdir", str(tmp_path),
                       "--page-timeout", "20"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    figures = json.loads(out.strip().splitlines()[-1])
    assert "KIM League benchmark" in out and "round 2021-Q1" in err
    wanted = FIGURES + (PG_FIGURES if os.environ.get("KIM_TEST_POSTGRES_URL") else [])
    missing = [k for k in wanted if not isinstance(figures.get(k), (int, float))]
    assert missing == [], (missing, figures.get("page_status"))
    assert figures["stored_scores"] == 20 * 7 * 2 and figures["return_rows"] == 20 * 7
    assert figures["ingest_vs_raw"] == pytest.approx(figures["ingest_s"] / figures["raw_parse_s"], rel=0.01)
    assert set(figures["goals_met"]) >= {"ingest_vs_raw", "naive_vs_ingest", "league_vs_fetch",
                                         "page_s", "peak_rss_mb"}
