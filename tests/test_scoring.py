"""The scorer: tables of known values, and invariants that must hold for any input."""

import numpy as np
import pandas as pd
import pytest

from kim_metrics.domain.criteria import NO_RETURN, RagScale, criteria_from_dict, load_criteria
from kim_metrics.domain.scoring import rag_mix, rollup, score_rows, team_scores

CRITERIA = load_criteria()


def _scores(rows):
    """rows: (team_id, criterion, claimed, evidence)"""
    return pd.DataFrame(rows, columns=["team_id", "criterion", "claimed", "evidence"]).assign(
        evidence_link="")


def _team_rows(team_id, values, evidence="yes"):
    return [(team_id, cid, v, evidence) for cid, v in values.items()]


FULL = {"naming": 3, "corporate_system": 3, "what_to_keep": 3, "asset_register": 3,
        "information_manager": 1, "training": 100, "legacy_review": 3}


@pytest.mark.parametrize(("claimed", "evidence", "link", "counted", "unevidenced"), [
    (3, "published on intranet", "", 3, False),
    (3, "", "https://intranet/x", 3, False),     # a link alone is evidence
    (3, "", "", 0, True),                        # unevidenced: counts as the lowest level
    (3, "   ", "", 0, True),                     # blank text is no evidence
    (0, "", "", 0, False),                       # the lowest level needs no evidence
    (1, "", "", 0, True),
])
def test_evidence_rule(claimed, evidence, link, counted, unevidenced):
    frame = pd.DataFrame([{"team_id": 1, "criterion": "naming", "claimed": claimed,
                           "evidence": evidence, "evidence_link": link}])
    out = score_rows(frame, CRITERIA).iloc[0]
    assert out["counted"] == counted
    assert out["unevidenced"] == unevidenced
    assert out["claimed"] == claimed  # the claim is kept


def test_challenged_score_counts_at_reviewers_value():
    frame = pd.DataFrame([{"team_id": 1, "criterion": "naming", "claimed": 3, "evidence": "x",
                           "evidence_link": "", "review_status": "challenged", "reviewed_value": 1.0},
                          {"team_id": 1, "criterion": "what_to_keep", "claimed": 3, "evidence": "x",
                           "evidence_link": "", "review_status": "verified", "reviewed_value": None}])
    out = score_rows(frame, CRITERIA)
    assert out["counted"].tolist() == [1.0, 3.0]


@pytest.mark.parametrize(("criterion", "value", "percent", "rag"), [
    ("naming", 0, 0.0, "Red"), ("naming", 1, 100 / 3, "Red"), ("naming", 2, 200 / 3, "Amber"),
    ("naming", 3, 100.0, "Green"),
    ("training", 69.9, 69.9, "Red"), ("training", 70, 70.0, "Amber"), ("training", 90, 90.0, "Green"),
    ("information_manager", 0, 0.0, "Red"), ("information_manager", 1, 100.0, "Green"),
])
def test_criterion_percent_and_rag(criterion, value, percent, rag):
    out = score_rows(_scores([(1, criterion, value, "e")]), CRITERIA).iloc[0]
    assert out["percent"] == pytest.approx(percent)
    assert out["rag"] == rag


def test_weighted_team_score_known_values():
    # corporate_system weighs 1.5, the other six 1.0: total weight 7.5.
    values = dict(FULL, corporate_system=0)
    teams = pd.DataFrame({"team_id": [1], "team": ["A"], "directorate": ["D"], "group": ["G"]})
    out = team_scores(score_rows(_scores(_team_rows(1, values)), CRITERIA), teams, CRITERIA)
    assert out.loc[0, "score"] == pytest.approx(round(600 / 7.5, 1))  # 80.0
    assert out.loc[0, "rag"] == "Green"


@pytest.mark.parametrize(("values", "score", "rag"), [
    (FULL, 100.0, "Green"),
    ({k: 0 for k in FULL}, 0.0, "Red"),
    (dict(FULL, naming=2, what_to_keep=2, asset_register=2, legacy_review=2, training=50,
          information_manager=0, corporate_system=2), 55.6, "Amber"),  # (4×66.7 + 1.5×66.7 + 50) / 7.5
    (dict(FULL, naming=1), 91.1, "Green"),  # (33.3 + 6.5×100) / 7.5
])
def test_team_score_table(values, score, rag):
    teams = pd.DataFrame({"team_id": [7], "team": ["T"], "directorate": ["D"], "group": ["G"]})
    out = team_scores(score_rows(_scores(_team_rows(7, values)), CRITERIA), teams, CRITERIA)
    assert out.loc[0, "score"] == score
    assert out.loc[0, "rag"] == rag


def test_team_without_return_is_no_return_never_red_or_green():
    teams = pd.DataFrame({"team_id": [1, 2], "team": ["A", "B"], "directorate": ["D", "D"],
                          "group": ["G", "G"]})
    out = team_scores(score_rows(_scores(_team_rows(1, FULL)), CRITERIA), teams, CRITERIA)
    b = out.set_index("team")
    assert b.loc["B", "rag"] == NO_RETURN
    assert np.isnan(b.loc["B", "score"])
    assert not b.loc["B", "returned"]
    assert rag_mix(out, CRITERIA) == {"Red": 0, "Amber": 0, "Green": 1, NO_RETURN: 1}


def test_rollup_means_returned_teams_and_counts_non_returns():
    teams = pd.DataFrame({"team_id": [1, 2, 3, 4], "team": list("ABCD"),
                          "directorate": ["D1", "D1", "D1", "D2"], "group": ["G"] * 4})
    rows = _team_rows(1, FULL) + _team_rows(2, {k: 0 for k in FULL}) + _team_rows(4, FULL)
    scored = team_scores(score_rows(_scores(rows), CRITERIA), teams, CRITERIA)
    d = rollup(scored, CRITERIA, "directorate").set_index("name")
    assert d.loc["D1", "score"] == 50.0
    assert d.loc["D1", "rag"] == "Amber"
    assert d.loc["D1", "returned_teams"] == 2 and d.loc["D1", "teams"] == 3
    assert d.loc["D1", f"teams.{NO_RETURN}"] == 1
    dept = rollup(scored, CRITERIA, None).iloc[0]
    assert dept["score"] == pytest.approx(round((100 + 0 + 100) / 3, 1))


def test_directorate_with_no_returns_is_no_return():
    teams = pd.DataFrame({"team_id": [1, 2], "team": ["A", "B"], "directorate": ["D1", "D2"],
                          "group": ["G", "G"]})
    scored = team_scores(score_rows(_scores(_team_rows(1, FULL)), CRITERIA), teams, CRITERIA)
    d = rollup(scored, CRITERIA, "directorate").set_index("name")
    assert d.loc["D2", "rag"] == NO_RETURN


FIVE = {
    "rag": {"levels": ["Red", "Amber/Red", "Amber", "Amber/Green", "Green"],
            "team": {"Green": 85, "Amber/Green": 70, "Amber": 55, "Amber/Red": 40}},
    "criterion": [{"id": "training", "name": "Training", "scale": "percent",
                   "rag": {"Green": 90, "Amber/Green": 80, "Amber": 60, "Amber/Red": 40},
                   "guidance": ["a", "b", "c", "d"]}],
}


@pytest.mark.parametrize(("value", "criterion_rag"), [
    (0, "Red"), (39.9, "Red"), (40, "Amber/Red"), (60, "Amber"), (80, "Amber/Green"), (95, "Green"),
])
def test_five_level_scale(value, criterion_rag):
    criteria = criteria_from_dict(FIVE)
    teams = pd.DataFrame({"team_id": [1], "team": ["A"], "directorate": ["D"], "group": ["G"]})
    scored = score_rows(_scores([(1, "training", value, "e")]), criteria)
    assert scored.loc[0, "rag"] == criterion_rag
    team = team_scores(scored, teams, criteria).iloc[0]
    expected = RagScale(levels=tuple(FIVE["rag"]["levels"]), team=FIVE["rag"]["team"]).classify([value])[0]
    assert team["rag"] == expected


def test_team_score_is_within_bounds_and_monotonic_in_any_criterion():
    rng = np.random.default_rng(11)
    teams = pd.DataFrame({"team_id": range(50), "team": [f"T{i}" for i in range(50)],
                          "directorate": "D", "group": "G"})
    rows = []
    for t in range(50):
        for c in CRITERIA:
            v = rng.integers(0, int(c.top) + 1) if c.scale != "percent" else float(rng.integers(0, 101))
            rows.append((t, c.id, v, "e"))
    base = team_scores(score_rows(_scores(rows), CRITERIA), teams, CRITERIA)
    assert base["score"].between(0, 100).all()
    raised = [(t, c, (v + 1 if c != "training" else min(v + 10, 100)) if c != "information_manager"
               else 1, e) for t, c, v, e in rows]
    raised = [(t, c, min(v, CRITERIA.get(c).top), e) for t, c, v, e in raised]
    after = team_scores(score_rows(_scores(raised), CRITERIA), teams, CRITERIA)
    assert (after["score"] >= base["score"]).all()
