import datetime as dt

import pandas as pd
import pytest

from kim_metrics.domain.criteria import criteria_from_dict, load_criteria
from kim_metrics.domain.errors import ValidationError
from kim_metrics.reading.matching import parse_score, parse_scores
from kim_metrics.domain.names import closest, norm_key
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_return
from tests.support.badfiles import CORPUS, ORG

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
    # Text with a % sign is that many percent, however small.
    ("0.99%", "training", 0.99), ("0.5%", "training", 0.5), ("1%", "training", 1), ("100%", "training", 100),
    ("0%", "training", 0), (" 12.5 % ", "training", 12.5),
    # A bare number below 1 is a fraction (a percentage cell read on its own).
    (0.5, "training", 50), (1.0, "training", 1),
    # Labels match as a whole, case, spacing and punctuation aside.
    ("FULLY-EMBEDDED", "naming", 3), ("not_started", "naming", 0), ("Partly  in place.", "naming", 1),
    # Declared aliases of Yes and No.
    ("Y", "information_manager", 1), ("true", "information_manager", 1), ("F", "information_manager", 0),
    ("No", "information_manager", 0), (False, "information_manager", 0),
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
    (True, "naming", "TRUE/FALSE cell"), ("150%", "training", "outside 0-100"),
    ("2", "information_manager", "not a Yes/No answer"),
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


def test_closest_suggests_known_names():
    assert closest("Tax Polcy", ["Tax Policy", "Estates", "Tax Operations"])[0] == "Tax Policy"


# A label matches only as a whole ------------------------------------------------------------

LEVEL_LABELS = "Not started, Partly in place, Mostly in place, Fully embedded"


@pytest.mark.parametrize("raw", [
    "Partly in place (not fully embedded)", "Not yet fully embedded", "No longer fully embedded",
    "Fully embedded? Not really", "embedded", "Fully", "Mostly", "10 Fully embedded", "Fully embedded 2026",
    "place", "In place",
])
def test_text_that_only_contains_a_label_is_refused_naming_the_labels(raw):
    got, message = parse_score(raw, CRITERIA.get("naming"), RAG)
    assert got is None
    assert f"'{raw}' is not a score for 'Naming convention used'" in message
    assert LEVEL_LABELS in message


@pytest.mark.parametrize("raw", ["Yes please", "Not yes", "Nope", "Yess"])
def test_yes_no_answers_match_only_as_a_whole(raw):
    got, message = parse_score(raw, CRITERIA.get("information_manager"), RAG)
    assert got is None and "Use Yes or No" in message


DSPT = criteria_from_dict({"criterion": [{
    "id": "dspt", "name": "DSPT", "scale": "level",
    "levels": ["Not Published", "Approaching Standards", "Standards Met", "Standards Exceeded"],
    "rag": {"Green": 2, "Amber": 1}, "guidance": ["a", "b", "c"]}]})


@pytest.mark.parametrize(("raw", "value"), [
    ("22/23 Standards Exceeded", 3), ("22/23 Standards Met", 2), ("2022/23 Approaching Standards", 1),
    ("2022-2023: Standards Met", 2), ("FY 22/23 Standards Met", 2), ("2026-Q3 Standards Met", 2),
    ("Q3 2026 - Standards Met", 2), ("2023 Not Published", 0), ("2026-03 Standards Met", 2),
    ("22/23 Green", 2),
])
def test_a_round_or_year_in_front_of_a_label_is_allowed(raw, value):
    got, message = parse_score(raw, DSPT.get("dspt"), DSPT.rag)
    assert message is None and got == value


@pytest.mark.parametrize("raw", ["Not Standards Met", "Nearly Standards Met", "3 Standards Met",
                                 "Standards Met by 22/23", "22/23", "Approaching Standards Met"])
def test_other_words_in_front_of_a_label_are_refused(raw):
    got, message = parse_score(raw, DSPT.get("dspt"), DSPT.rag)
    assert got is None and "Not Published, Approaching Standards, Standards Met, Standards Exceeded" in message


def test_percent_text_is_never_taken_for_a_fraction_in_a_column_of_percentage_cells():
    # The column's numbers are percentage cells (fractions); the typed "0.5%" stays half a percent.
    values, messages = parse_scores(pd.Series([0.85, 1.0, "0.5%", "85%"], dtype=object),
                                    pd.Series(["training"] * 4), CRITERIA)
    assert values.tolist() == [85, 100, 0.5, 85]
    assert messages.isna().all()


# The hostile corpus's score files, read whole --------------------------------------------------

TEAMS = ORG.assign(team_id=range(1, len(ORG) + 1))[["team_id", "team", "directorate", "group"]]


@pytest.mark.parametrize(("name", "expected"), [
    ("percent-sign-below-one.xlsx", {"Data Office": 0.99, "Web Team": 0.5}),
    ("percent-cells.xlsx", {"Data Office": 100, "Web Team": 85}),
])
def test_corpus_percentages_mean_what_was_typed(name, expected):
    parsed = parse_return(read_workbook(CORPUS[name].build(), file_name=name), CRITERIA, TEAMS)
    training = parsed.scores[parsed.scores["criterion"] == "training"].set_index("team")["claimed"]
    assert training.to_dict() == pytest.approx(expected)


@pytest.mark.parametrize("name", ["label-partly-not-fully-embedded.xlsx", "label-not-yet-fully-embedded.csv",
                                  "label-no-longer-fully-embedded.xlsx"])
def test_corpus_labels_that_only_contain_a_label_are_refused(name):
    with pytest.raises(ValidationError) as err:
        parse_return(read_workbook(CORPUS[name].build(), file_name=name), CRITERIA, TEAMS)
    [problem] = err.value.problems
    assert problem.column == "Score" and LEVEL_LABELS in problem.message
