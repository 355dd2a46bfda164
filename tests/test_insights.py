"""insights: the figures the pages show beyond one api call, checked against known values."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import views as insights
from kim_metrics.domain.criteria import NO_RETURN, criteria_from_dict
from kim_metrics.domain.errors import NotFoundError, Problem, ProblemCode, ValidationError
from kim_metrics.domain.scoring import score_rows, team_scores

from tests.support.returns import FULL_MARKS, NOTHING, RETURN_HEADERS, long_rows

SMALL = {
    "rag": {"levels": ["Red", "Amber", "Green"], "team": {"Green": 80, "Amber": 50}},
    "criterion": [
        {"id": "a", "name": "Alpha", "scale": "level", "weight": 2.0,
         "levels": ["None", "Some", "Most", "All"], "rag": {"Green": 3, "Amber": 2},
         "guidance": ["a0 to a1", "a1 to a2", "a2 to a3"]},
        {"id": "b", "name": "Beta", "scale": "percent", "weight": 1.0,
         "rag": {"Green": 90, "Amber": 70}, "guidance": ["b to 70", "b to 90"]},
        {"id": "c", "name": "Gamma", "scale": "yesno", "weight": 1.0, "rag": {"Green": 1},
         "guidance": ["nominate one"]},
    ],
}


@pytest.fixture(scope="module")
def small():
    return criteria_from_dict(SMALL)


def _round(criteria, rows, teams):
    """Scored rows and team scores from (team_id, criterion, claimed, evidence) tuples."""
    frame = pd.DataFrame(rows, columns=["team_id", "criterion", "claimed", "evidence"])
    frame["evidence_link"] = ""
    info = pd.DataFrame(teams, columns=["team_id", "team", "directorate", "group"])
    scored = score_rows(frame, criteria).merge(info, on="team_id", how="left")
    return team_scores(scored, info, criteria), scored


TEAMS = [(1, "Tax", "D", "G"), (2, "Audit", "D", "G"), (3, "Other", "E", "G"),
         (4, "Silent", "D", "G")]
ROWS = [
    (1, "a", 1, "x"), (1, "b", 80, "x"), (1, "c", 1, "x"),
    (2, "a", 3, "x"), (2, "b", 50, "x"), (2, "c", 1, ""),   # Gamma claimed without evidence
    (3, "a", 0, ""), (3, "b", 0, ""), (3, "c", 0, ""),
]


def test_actions_are_ordered_by_what_they_add_to_the_directorate(small):
    teams, scored = _round(small, ROWS, TEAMS)
    actions = insights.improvement_actions(teams, scored, small, "D")
    # Two teams returned in D (Silent did not), total weight 4.
    # Audit·Gamma: evidence for "Yes" is worth 1×100/4 = 25 to the team, 12.5 to D.
    # Tax·Alpha: Some→Most is 2×33.3/4 = 16.67 → 8.33.  Audit·Beta: 50→70 is 20/4 = 5 → 2.5.
    # Tax·Beta: 80→90 is 10/4 = 2.5 → 1.25.  Green cells (Tax·Gamma, Audit·Alpha): no action.
    got = actions[["team", "criterion", "kind", "now", "target", "target_rag", "team_gain", "gain"]]
    expected = pd.DataFrame([
        ("Audit", "c", "evidence", "No", "Yes", "Green", 25.0, 12.5),
        ("Tax", "a", "next level", "Some", "Most", "Amber", 16.67, 8.33),
        ("Audit", "b", "next level", "50%", "70%", "Amber", 5.0, 2.5),
        ("Tax", "b", "next level", "80%", "90%", "Green", 2.5, 1.25),
    ], columns=got.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    assert actions.loc[1, "action"] == "a1 to a2"
    assert actions.loc[2, "action"] == "b to 70"
    assert actions.loc[3, "action"] == "b to 90"
    assert "evidence" in actions.loc[0, "action"].lower()
    assert set(actions["team"]) <= {"Tax", "Audit"}


def test_action_gain_is_the_change_in_the_directorate_mean(small):
    """Applying each action and rescoring moves the directorate's mean by exactly its gain."""
    teams, scored = _round(small, ROWS, TEAMS)
    before = teams[(teams["directorate"] == "D") & teams["returned"]]["score"].mean()
    actions = insights.improvement_actions(teams, scored, small, "D")
    targets = {"Yes": 1, "Most": 2, "70%": 70, "90%": 90}
    for a in actions.itertuples():
        rows = [(t, c, targets[a.target] if (t, c) == (a.team_id, a.criterion) else v, "x" if (t, c) == (a.team_id, a.criterion) else e)
                for t, c, v, e in ROWS]
        after_teams, _ = _round(small, rows, TEAMS)
        after = after_teams[(after_teams["directorate"] == "D") & after_teams["returned"]]["score"].mean()
        # Team scores are rounded to one decimal before they are averaged.
        assert after - before == pytest.approx(a.gain, abs=0.06)


def test_equal_gains_are_ordered_by_team_then_criterion(small):
    rows = [(1, "a", 2, "x"), (1, "b", 100, "x"), (1, "c", 1, "x"),
            (2, "a", 2, "x"), (2, "b", 100, "x"), (2, "c", 1, "x")]
    teams, scored = _round(small, rows, TEAMS[:2])
    actions = insights.improvement_actions(teams, scored, small, "D")
    assert actions["team"].tolist() == ["Audit", "Tax"]
    assert actions["gain"].tolist() == [8.33, 8.33]        # 2 × 33.3 / 4 to the team, / 2 teams


def test_all_green_directorate_has_no_actions(small):
    rows = [(1, "a", 3, "x"), (1, "b", 95, "x"), (1, "c", 1, "x")]
    teams, scored = _round(small, rows, TEAMS[:1])
    actions = insights.improvement_actions(teams, scored, small, "D")
    assert actions.empty
    assert list(actions.columns) == list(insights.ACTION_COLUMNS)


def test_challenged_score_steps_up_from_the_reviewed_value(small):
    teams, scored = _round(small, [(1, "a", 3, ""), (1, "b", 95, "x"), (1, "c", 1, "x")], TEAMS[:1])
    scored["review_status"] = ["challenged", "self-declared", "self-declared"]
    scored["reviewed_value"] = [1.0, np.nan, np.nan]
    scored = score_rows(scored.drop(columns=["evidenced", "unevidenced", "counted", "percent", "rag"]),
                        small)
    teams = team_scores(scored, teams[["team_id", "team", "directorate", "group"]], small)
    actions = insights.improvement_actions(teams, scored, small, "D")
    assert actions[["criterion", "kind", "now", "target"]].values.tolist() == [["a", "next level", "Some", "Most"]]


# Headline figures ----------------------------------------------------------------------------

TREND = pd.DataFrame([
    {"round": "2026-Q1", "score": 50.0, "Red": 5, "Amber": 3, "Green": 1, NO_RETURN: 3},
    {"round": "2026-Q2", "score": 57.25, "Red": 2, "Amber": 4, "Green": 5, NO_RETURN: 1},
])
STATUSES = ["Green", "Amber", "Red", NO_RETURN]


def test_headline_counts_and_changes_since_last_round():
    h = insights.headline(TREND, "2026-Q2", STATUSES)
    assert h.counts == {"Green": 5, "Amber": 4, "Red": 2, NO_RETURN: 1}
    assert h.changes == {"Green": 4, "Amber": 1, "Red": -3, NO_RETURN: -2}
    assert (h.previous, h.teams, h.returned) == ("2026-Q1", 12, 11)
    assert h.score == 57.25 and h.score_change == pytest.approx(7.2)


def test_headline_first_round_has_no_changes():
    h = insights.headline(TREND, "2026-Q1", STATUSES)
    assert h.previous is None
    assert h.changes == {s: None for s in STATUSES}
    assert h.score_change is None


def test_headline_status_new_to_the_scale_has_no_change():
    trend = TREND.assign(**{"Amber/Green": [np.nan, 2]})
    h = insights.headline(trend, "2026-Q2", ["Green", "Amber/Green", "Amber", "Red", NO_RETURN])
    assert h.counts["Amber/Green"] == 2 and h.changes["Amber/Green"] is None


def test_headline_unknown_round():
    with pytest.raises(NotFoundError, match="2030-Q1"):
        insights.headline(TREND, "2030-Q1", STATUSES)


# Directorate standing ------------------------------------------------------------------------

def _dir_table(rows):
    return pd.DataFrame(rows, columns=["name", "rank", "score", "rag", "movement", "movement_label",
                                       "returned_teams", "teams"]).astype({"rank": "Int64", "movement": "Int64"})


def test_directorate_standing_over_rounds():
    tables = {
        "2026-Q1": _dir_table([("Tax", 2, 60.0, "Amber", pd.NA, "new", 3, 4),
                               ("Audit", 1, 70.0, "Amber", pd.NA, "new", 2, 2),
                               ("Quiet", pd.NA, np.nan, NO_RETURN, pd.NA, "", 0, 1)]),
        "2026-Q2": _dir_table([("Tax", 1, 85.0, "Green", 1, "▲ 1", 4, 4),
                               ("Audit", 2, 65.0, "Amber", -1, "▼ 1", 2, 2)]),
    }
    out = insights.directorate_standing(tables, "Tax")
    assert out["round"].tolist() == ["2026-Q1", "2026-Q2"]
    assert out["rank"].tolist() == [2, 1]
    assert out["ranked"].tolist() == [2, 2]
    assert out["score"].tolist() == [60.0, 85.0]
    assert out["movement_label"].tolist() == ["new", "▲ 1"]
    assert out["movement"].iloc[1] == 1
    assert insights.directorate_standing(tables, "Quiet")["rank"].isna().all()
    assert insights.directorate_standing(tables, "Nobody").empty


# Matrices and links --------------------------------------------------------------------------

def test_rag_matrix_words_and_no_return(small):
    teams, _ = _round(small, ROWS, TEAMS)
    words = insights.rag_matrix(teams, small)
    assert list(words.columns) == ["Alpha", "Beta", "Gamma"]
    assert words.loc["Tax"].tolist() == ["Red", "Amber", "Green"]
    assert words.loc["Audit"].tolist() == ["Green", "Red", "Red"]
    assert words.loc["Silent"].tolist() == [NO_RETURN] * 3


@pytest.mark.parametrize("url, safe", [
    ("https://intranet.example.gov.uk/x", True), ("http://x.gov.uk", True),
    ("javascript:alert(1)", False), ("//evil", False), ("", False), ("see the shared drive", False),
])
def test_safe_link(url, safe):
    assert (insights.safe_link(url) is not None) is safe


# Upload helpers ------------------------------------------------------------------------------

def test_problems_frame_and_unknown_columns():
    err = ValidationError([Problem("r.csv", "r.csv", 3, "Score", "Bad score.", code=ProblemCode.BAD_SCORE),
                           Problem("r.csv", "r.csv", 1, None, "Columns not found.",
                                   code=ProblemCode.UNRECOGNISED_COLUMNS)])
    frame = insights.problems_frame(err)
    assert list(frame.columns) == ["sheet", "rows", "column", "message"]
    assert frame["rows"].tolist() == ["1", "3"]
    assert insights.unknown_columns(err).row == 1
    # Found by its code, whatever the message says.
    assert insights.unknown_columns(ValidationError([
        Problem("f", None, None, None, "Could not find the columns", code=ProblemCode.MISSING_COLUMN)])) is None


def test_mapping_from_odd_headers_lets_the_return_through(sqlite_engine, criteria):
    headers = ["Org unit", "Measure name", "Self rating", "Proof", "Where", "Remarks", "Dir", "Grp"]
    rows = [[r[2], r[3], r[4], r[5], r[6], r[7], r[1], r[0]]
            for r in long_rows({"Records Team": FULL_MARKS})]
    data = pd.DataFrame(rows, columns=headers).to_csv(index=False).encode()
    with pytest.raises(ValidationError) as caught:
        return_service.check_return(sqlite_engine, data, "odd.csv", "2026-Q1")
    problem = insights.unknown_columns(caught.value)
    assert problem is not None
    found = insights.file_headers(data, "odd.csv", problem)
    assert found == headers
    choices = {**insights.guess_mapping(found), "team": "Org unit", "criterion": "Measure name",
               "score": "Self rating", "evidence": "Proof", "directorate": "Dir", "group": "Grp"}
    mapping, messages = insights.mapping_from_choices(choices)
    assert messages == []
    preview = return_service.check_return(sqlite_engine, data, "odd.csv", "2026-Q1", mapping)
    assert preview.teams["team"].tolist() == ["Records Team"]
    assert preview.teams["score"].tolist() == [100.0]


def test_mapping_choices_report_missing_and_repeated():
    mapping, messages = insights.mapping_from_choices(
        {"team": "Unit", "criterion": None, "score": "Unit", "evidence": None})
    assert mapping == {"team": "Unit", "score": "Unit"}
    assert any("Criterion" in m for m in messages)
    assert any("'Unit' is chosen for both Team and Score" in m for m in messages)


def test_guess_mapping_finds_template_headers():
    guess = insights.guess_mapping(RETURN_HEADERS)
    assert guess["team"] == "Team" and guess["evidence_link"] == "Evidence link"
    assert guess["evidence"] == "Evidence"


# Criteria editor -----------------------------------------------------------------------------

def test_criteria_editor_round_trip(criteria):
    frame = insights.criteria_editor_frame(criteria)
    assert frame["id"].tolist() == criteria.ids
    assert {"Green from", "Amber from", "Step 1", "Step 3"} <= set(frame.columns)
    raw = insights.criteria_from_editor(criteria, frame, insights.team_thresholds_frame(criteria))
    assert criteria_from_dict(raw) == criteria


def test_criteria_editor_changes_are_applied(criteria):
    frame = insights.criteria_editor_frame(criteria)
    frame.loc[0, "weight"] = 2.5
    frame.loc[0, "name"] = "Naming convention followed"
    frame.loc[0, "Amber from"] = np.nan          # no Amber band: Red below 3, Green at 3
    team = insights.team_thresholds_frame(criteria)
    team.loc[team["status"] == "Green", "lowest team score"] = 85
    new = criteria_from_dict(insights.criteria_from_editor(criteria, frame, team))
    c = new.get(criteria.ids[0])
    assert (c.name, c.weight, dict(c.rag)) == ("Naming convention followed", 2.5, {"Green": 3.0})
    assert new.rag.team["Green"] == 85
    assert "Naming convention followed" in new.to_toml()


@pytest.mark.parametrize("column, value, message", [
    ("Green from", 1, "must rise"),
    ("Step 3", None, "guidance"),
    ("name", "", "name"),
    ("weight", 0, "weight"),
])
def test_criteria_editor_problems_are_reported(criteria, column, value, message):
    frame = insights.criteria_editor_frame(criteria)
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = value
    with pytest.raises(ValidationError) as caught:
        criteria_from_dict(insights.criteria_from_editor(criteria, frame))
    assert message in str(caught.value).lower()


# Team detail ---------------------------------------------------------------------------------

def _save(engine, teams: dict, round_label: str, evidence: str = "Checked in March"):
    rows = long_rows(teams, evidence=evidence)
    data = pd.DataFrame(rows, columns=RETURN_HEADERS).to_csv(index=False).encode()
    return_service.save_preview(engine, return_service.check_return(engine, data, f"{round_label}.csv", round_label),
                     uploader="local-admin")


def test_team_detail_scores_evidence_and_history(sqlite_engine):
    _save(sqlite_engine, {"Records": NOTHING, "Archive": FULL_MARKS}, "2026-Q1")
    _save(sqlite_engine, {"Records": FULL_MARKS}, "2026-Q2", evidence="")   # claims without evidence
    _save(sqlite_engine, {"Archive": FULL_MARKS}, "2026-Q2")
    org = admin_service.organisation(sqlite_engine)
    records = int(org.loc[org["team"] == "Records", "team_id"].iloc[0])

    detail = insights.team_detail(sqlite_engine, records, actor=local_admin())
    assert (detail.team, detail.directorate, detail.round) == ("Records", "Digital", "2026-Q2")
    naming = detail.criteria.set_index("criterion").loc["naming"]
    assert naming["claimed"] == "3" and naming["counted"] == "Not started"
    assert bool(naming["unevidenced"]) and naming["rag"] == "Red"
    training = detail.criteria.set_index("criterion").loc["training"]
    assert training["counted"] == "0%" and bool(training["unevidenced"])
    assert detail.score == 0.0 and detail.rag == "Red"
    assert detail.history["round"].tolist() == ["2026-Q1", "2026-Q2"]
    assert detail.history["score"].tolist() == [0.0, 0.0]
    assert len(detail.scores_history) == 14
    assert detail.scores_history.groupby("round")["unevidenced"].sum().tolist() == [0, 7]

    first = insights.team_detail(sqlite_engine, records, "2026-Q1", actor=local_admin())
    assert first.criteria["evidence"].eq("Checked in March").all()
    assert not first.criteria["unevidenced"].any()


def test_team_detail_round_without_return(sqlite_engine):
    _save(sqlite_engine, {"Records": FULL_MARKS, "Archive": FULL_MARKS}, "2026-Q1")
    _save(sqlite_engine, {"Archive": FULL_MARKS}, "2026-Q2")
    org = admin_service.organisation(sqlite_engine)
    records = int(org.loc[org["team"] == "Records", "team_id"].iloc[0])
    detail = insights.team_detail(sqlite_engine, records, "2026-Q2", actor=local_admin())
    assert detail.rag == NO_RETURN and detail.score is None
    assert detail.criteria["rag"].eq(NO_RETURN).all()
    assert detail.history["rag"].tolist() == ["Green", NO_RETURN]


def test_team_detail_unknown_team(sqlite_engine):
    with pytest.raises(NotFoundError, match="no team"):
        insights.team_detail(sqlite_engine, 999, actor=local_admin())


def test_directorate_history_from_the_database(sqlite_engine):
    _save(sqlite_engine, {"Records": NOTHING, "Archive": FULL_MARKS}, "2026-Q1")
    _save(sqlite_engine, {"Records": FULL_MARKS, "Archive": FULL_MARKS}, "2026-Q2")
    out = insights.directorate_history(sqlite_engine, "Digital")
    assert out["round"].tolist() == ["2026-Q1", "2026-Q2"]
    assert out["score"].tolist() == [50.0, 100.0]
    assert out["rank"].tolist() == [1, 1]
    assert out["rag"].tolist() == ["Amber", "Green"]


def test_insights_never_imports_streamlit():
    import subprocess
    import sys
    code = "import sys, kim_metrics.services.views; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
