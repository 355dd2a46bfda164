"""Status sets: every status drawn with a colour, its own where the department gave one.

A department's own status names (the Information Management Assessment's four levels, or
names nobody has met before) must show in colour wherever a status is drawn; the Excel export
is the check that names them end to end.
"""

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.domain.criteria import FIVE_LEVELS, NO_RETURN, parse_criteria
from kim_metrics.domain.statuses import (
    DEFAULT_COLOURS, GREEN, NO_RETURN_COLOUR, RAG_STYLES, RED, StatusSet, contrast_ratio, rag_style,
)
from kim_metrics.reports.exports import league_xlsx
from kim_metrics.services import api
from kim_metrics.storage import store

WCAG_AA_TEXT = 4.5
IMA_LEVELS = ("Development area", "Progressing towards satisfactory", "Satisfactory", "Good practice")


@pytest.mark.parametrize("status", [*FIVE_LEVELS, NO_RETURN])
def test_every_status_has_a_style_passing_wcag_aa(status):
    style = RAG_STYLES[status]
    assert contrast_ratio(style.text, style.background) >= WCAG_AA_TEXT


def test_contrast_known_values():
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_symbols_tell_statuses_apart_without_colour():
    symbols = [s.symbol for s in RAG_STYLES.values()]
    assert len(set(symbols)) == len(symbols)


# Status sets ------------------------------------------------------------------------------

@pytest.mark.parametrize(("levels", "colours", "expected"), [
    # The department's colour first, then the default for a known name.
    (IMA_LEVELS, {"Good practice": "#1D70B8"},
     {"Development area": RED, "Good practice": "#1D70B8"}),
    # Names nobody has met before take the colour of their place, worst red to best green.
    (("Bronze", "Silver", "Gold"), {}, {"Bronze": RED, "Gold": GREEN}),
    (("Bronze", "Silver", "Gold"), {"Silver": "#C0C0C0"}, {"Silver": "#C0C0C0"}),
    (("Red", "Amber", "Green"), {"Red": "#D4351C"}, {"Red": "#D4351C", "Green": GREEN}),
])
def test_colours_in_a_set(levels, colours, expected):
    statuses = StatusSet(levels, colours)
    for status, colour in expected.items():
        assert statuses.colour(status) == colour
        assert statuses.style(status).background == colour
    assert statuses.style(NO_RETURN).background == NO_RETURN_COLOUR


@pytest.mark.parametrize("levels", [IMA_LEVELS, ("Bronze", "Silver", "Gold", "Platinum"),
                                    ("Low", "High"), tuple(f"Level {n}" for n in range(7))])
def test_every_status_of_any_set_is_coloured_readably_and_shaped(levels):
    styles = StatusSet(levels).styles()
    assert list(styles) == [*levels, NO_RETURN]
    for style in styles.values():
        assert style is not None
        assert contrast_ratio(style.text, style.background) >= WCAG_AA_TEXT
    assert len({styles[s].symbol for s in levels}) == min(len(levels), 5)


def test_a_name_outside_the_set_falls_back_to_its_known_colour():
    statuses = StatusSet(IMA_LEVELS)
    assert rag_style("Amber", statuses).background == DEFAULT_COLOURS["Amber"]   # an earlier round's
    assert rag_style("Made up", statuses) is None
    assert rag_style("Made up") is None


# The criteria file's colours, end to end ---------------------------------------------------

CUSTOM = '''
[rag]
levels = ["Development area", "Progressing towards satisfactory", "Satisfactory", "Good practice"]
team = { "Good practice" = 85, "Satisfactory" = 60, "Progressing towards satisfactory" = 30 }
colours = { "Good practice" = "#1d70b8", "Development area" = "#912B88" }

[[criterion]]
id = "naming"
name = "Naming convention used"
scale = "level"
rag = { "Good practice" = 3, "Satisfactory" = 2, "Progressing towards satisfactory" = 1 }
guidance = ["Adopt it.", "Apply it.", "Embed it."]

[[criterion]]
id = "training"
name = "Staff KIM training completed"
scale = "percent"
rag = { "Good practice" = 90, "Satisfactory" = 70, "Progressing towards satisfactory" = 40 }
guidance = ["Ask everyone.", "Chase the rest.", "Add it to induction."]
'''
TEAMS = {"Alpha": (0, 10), "Bravo": (1, 50), "Charlie": (2, 75), "Delta": (3, 95)}
ROUND = "2026-Q3"


def test_custom_statuses_load_with_their_colours():
    criteria = parse_criteria(CUSTOM)
    assert criteria.rag.levels == IMA_LEVELS
    assert dict(criteria.rag.colours) == {"Good practice": "#1D70B8", "Development area": "#912B88"}
    assert criteria.rag.statuses.colour("Good practice") == "#1D70B8"
    assert criteria.rag.statuses.colour("Satisfactory") == DEFAULT_COLOURS["Satisfactory"]
    assert parse_criteria(criteria.to_toml()) == criteria


def test_excel_export_fills_each_custom_status_with_its_colour(sqlite_engine):
    api.load_criteria(sqlite_engine, CUSTOM, actor=LOCAL_ADMIN_EMAIL, file_name="ima.toml")
    store.save_org(sqlite_engine, pd.DataFrame({
        "team": list(TEAMS), "directorate": "Digital", "group": "Corporate",
        "director": "ali.khan@dept.gov.uk", "information_managers": [[] for _ in TEAMS]}))
    rows = [{"Team": team, "Directorate": "Digital", "Group": "Corporate", "Criterion": cid,
             "Score": score, "Evidence": "Spot check, March"}
            for team, scores in TEAMS.items() for cid, score in zip(("naming", "training"), scores)]
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    api.open_round(sqlite_engine, ROUND, actor=LOCAL_ADMIN_EMAIL)
    api.save_preview(sqlite_engine, api.check_return(sqlite_engine, data, "return.csv", ROUND),
                     uploader=LOCAL_ADMIN_EMAIL)

    league = api.league(sqlite_engine, ROUND, "team")
    scores = api.scored_round(sqlite_engine, ROUND).scores
    book = load_workbook(io.BytesIO(league_xlsx(league.table, league.criteria, "team", scores,
                                                round_label=ROUND)))
    statuses = league.criteria.rag.statuses
    seen = set()
    for sheet, columns in (("League", ("RAG", "Naming convention used", "Staff KIM training completed")),
                           ("Scores", ("RAG",))):
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        for column in columns:
            for (cell,) in ws.iter_rows(min_row=2, min_col=headers.index(column) + 1,
                                        max_col=headers.index(column) + 1):
                style = statuses.style(cell.value)
                assert style is not None, f"{sheet}!{cell.coordinate} holds {cell.value!r}"
                assert cell.fill.fgColor.rgb[-6:] == style.background.lstrip("#"), cell.coordinate
                assert cell.font.color.rgb[-6:] == style.text.lstrip("#"), cell.coordinate
                seen.add(cell.value)
    assert seen == set(IMA_LEVELS)
    fills = {cell.value: cell.fill.fgColor.rgb[-6:] for (cell,) in book["Scores"].iter_rows(
        min_row=2, min_col=[c.value for c in book["Scores"][1]].index("RAG") + 1,
        max_col=[c.value for c in book["Scores"][1]].index("RAG") + 1)}
    assert fills["Good practice"] == "1D70B8" and fills["Development area"] == "912B88"
    assert len(set(fills.values())) == 4
