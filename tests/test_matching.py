import datetime as dt

import pandas as pd
import pytest

from kim_metrics.domain.criteria import criteria_from_dict, load_criteria
from kim_metrics.reading.matching import closest, norm_key, parse_score, parse_scores

CRITERIA = load_criteria()
RAG = CRITERIA.rag


@pytest.mark.parametrize(("a", "b"), [(" Evidence-Link ", "evidence link"), ("TEAM_NAME", "Team name"),
                                      ("What to Keep", "what-to-keep")])
def test_norm_key_ignores_case_spacing_punctuation(a, b):
    assert norm_key(a) == norm_key(b)


@pytest.mark.parametrize(("raw", "criterion", "value"), [
    (3, "naming", 3), (3.0, "naming", 3), ("2", "naming", 2), ("Fully embedded", "naming", 3),
    ("  mostly IN place ", "naming", 2), ("G", "naming", 3), ("green", "naming", 3),
    ("Amber", "naming", 2), ("Amber / Red", "naming", 0), ("R", "naming", 0),
    ("Amber/Green", "naming", 2),           # rounds down on a three-level scale
    ("85%", "training", 85), ("85 %", "training", 85), (0.85, "training", 85), (85, "training", 85),
    ("G", "training", 90), ("Yes", "information_manager", 1), ("n", "information_manager", 0),
    (True, "information_manager", 1), (1, "information_manager", 1),
])
def test_scores_in_every_accepted_form(raw, criterion, value):
    got, message = parse_score(raw, CRITERIA.get(criterion), RAG)
    assert message is None
    assert got == pytest.approx(value)


@pytest.mark.parametrize(("raw", "criterion", "needle"), [
    (4, "naming", "not a level"), (-1, "naming", "not a level"), (2.5, "naming", "not a level"),
    ("", "naming", "empty"), (None, "naming", "empty"), (float("nan"), "naming", "empty"),
    ("85%", "naming", "is a percentage"),
    (120, "training", "outside 0-100"), (-5, "training", "outside 0-100"),
    ("Yes", "training", "Yes/No answer"), ("maybe", "information_manager", "not a score"),
    (dt.date(2026, 3, 1), "naming", "date"), (dt.datetime(2026, 3, 1, 9), "training", "date"),
])
def test_bad_scores_say_how_to_fix(raw, criterion, needle):
    got, message = parse_score(raw, CRITERIA.get(criterion), RAG)
    assert got is None
    assert needle in message


def test_percentage_cells_column_means_fractions():
    # Every percent score in 0-1: the column holds percentage cells, so 1.0 is 100 %.
    values, messages = parse_scores(pd.Series([0.5, 1.0, 0.75]), pd.Series(["training"] * 3), CRITERIA)
    assert values.tolist() == [50, 100, 75]
    assert messages.isna().all()


def test_vectorised_parse_matches_single():
    raws = [3, "G", "85%", "x", None, True, 0.5]
    ids = ["naming", "naming", "training", "naming", "naming", "information_manager", "training"]
    values, messages = parse_scores(pd.Series(raws, dtype=object), pd.Series(ids), CRITERIA)
    for raw, cid, v, m in zip(raws, ids, values, messages):
        single, msg = parse_score(raw, CRITERIA.get(cid), RAG)
        assert (pd.isna(v) and single is None) or v == pytest.approx(single)
        assert (pd.isna(m) and msg is None) or m == msg


def test_status_with_round_prefix_matches_level_label():
    crit = criteria_from_dict({"criterion": [{
        "id": "dspt", "name": "DSPT", "scale": "level",
        "levels": ["Not Published", "Approaching Standards", "Standards Met", "Standards Exceeded"],
        "rag": {"Green": 2, "Amber": 1}, "guidance": ["a", "b", "c"]}]})
    got, _ = parse_score("22/23 Standards Exceeded", crit.get("dspt"), crit.rag)
    assert got == 3
    got, _ = parse_score("22/23 Standards Met", crit.get("dspt"), crit.rag)
    assert got == 2


def test_closest_suggests_known_names():
    assert closest("Tax Polcy", ["Tax Policy", "Estates", "Tax Operations"])[0] == "Tax Policy"
