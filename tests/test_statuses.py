"""Status sets: every status drawn with a colour, its own where the department gave one.

A department's own status names (the Information Management Assessment's four levels, or
names nobody has met before) must show in colour wherever a status is drawn. The last tests
load a criteria file with four custom statuses, score a round under it and look at the Excel
export, the letter in Word and PDF, the board pack and the league page.
"""

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL, local_admin
from kim_metrics.domain.criteria import FIVE_LEVELS, NO_RETURN, parse_criteria
from kim_metrics.domain.statuses import (
    DEFAULT_COLOURS, GREEN, NO_RETURN_COLOUR, RAG_STYLES, RED, StatusSet, contrast_ratio, rag_style,
)
from kim_metrics.reports.exports import league_xlsx
from kim_metrics.reports.letters import letter_docx, letter_pdf
from kim_metrics.services.documents import boardpack_pdf, letter_data
from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema

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
PROJECT = Path(__file__).resolve().parent.parent


def test_custom_statuses_load_with_their_colours():
    criteria = parse_criteria(CUSTOM)
    assert criteria.rag.levels == IMA_LEVELS
    assert dict(criteria.rag.colours) == {"Good practice": "#1D70B8", "Development area": "#912B88"}
    assert criteria.rag.statuses.colour("Good practice") == "#1D70B8"
    assert criteria.rag.statuses.colour("Satisfactory") == DEFAULT_COLOURS["Satisfactory"]
    assert parse_criteria(criteria.to_toml()) == criteria


@pytest.fixture(scope="module")
def custom_round(tmp_path_factory):
    """A round scored under the four custom statuses: one team at each."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('custom') / 'kim.db'}")
    ensure_schema(engine)
    admin_service.load_criteria(engine, CUSTOM, actor=LOCAL_ADMIN_EMAIL, file_name="ima.toml")
    admin_service.save_organisation(engine, pd.DataFrame({
        "team": list(TEAMS), "directorate": "Digital", "group": "Corporate",
        "director": "ali.khan@dept.gov.uk", "information_managers": [[] for _ in TEAMS]}))
    rows = [{"Team": team, "Directorate": "Digital", "Group": "Corporate", "Criterion": cid,
             "Score": score, "Evidence": "Spot check, March"}
            for team, scores in TEAMS.items() for cid, score in zip(("naming", "training"), scores)]
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    admin_service.open_round(engine, ROUND, actor=LOCAL_ADMIN_EMAIL)
    return_service.save_preview(engine, return_service.check_return(engine, data, "return.csv", ROUND), uploader=LOCAL_ADMIN_EMAIL)
    yield engine
    engine.dispose()


def _column(ws, header: str) -> list:
    headers = [c.value for c in ws[1]]
    return [cell for (cell,) in ws.iter_rows(min_row=2, min_col=headers.index(header) + 1,
                                             max_col=headers.index(header) + 1)]


def test_excel_export_fills_each_custom_status_with_its_colour(custom_round):
    league = league_service.league(custom_round, ROUND, "team")
    scores = score_service.scored_round(custom_round, ROUND, actor=local_admin()).scores
    book = load_workbook(io.BytesIO(league_xlsx(league.table, league.criteria, "team", scores,
                                                round_label=ROUND)))
    statuses = league.criteria.rag.statuses
    seen = set()
    for sheet, columns in (("League", ("RAG", "Naming convention used", "Staff KIM training completed")),
                           ("Scores", ("RAG",))):
        for column in columns:
            for cell in _column(book[sheet], column):
                style = statuses.style(cell.value)
                assert style is not None, f"{sheet}!{cell.coordinate} holds {cell.value!r}"
                assert cell.fill.fgColor.rgb[-6:] == style.background.lstrip("#"), cell.coordinate
                assert cell.font.color.rgb[-6:] == style.text.lstrip("#"), cell.coordinate
                seen.add(cell.value)
    assert seen == set(IMA_LEVELS)
    fills = {cell.value: cell.fill.fgColor.rgb[-6:] for cell in _column(book["Scores"], "RAG")}
    assert fills["Good practice"] == "1D70B8" and fills["Development area"] == "912B88"
    assert len(set(fills.values())) == 4


def test_word_letter_shades_each_custom_status_with_its_colour(custom_round):
    d = letter_data(custom_round, ROUND, "Digital", actor=local_admin())
    doc = Document(io.BytesIO(letter_docx(d)))
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:3] == ["Team", "Score", "Status"])
    shades = {}
    for row in table.rows[1:]:
        shading = row.cells[2]._tc.tcPr.xpath("./w:shd")[0]
        shades[row.cells[2].text] = shading.get(qn("w:fill"))
    assert shades.keys() <= set(IMA_LEVELS) and len(shades) >= 2
    for status, fill in shades.items():
        assert fill == d.statuses.colour(status).lstrip("#")


def _pdf_fills(data: bytes) -> set[str]:
    """Every fill colour a PDF's pages set, as #RRGGBB."""
    fills = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        content = page.get_contents().get_data().decode("latin-1")
        for r, g, b in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", content):
            fills.add("#" + "".join(f"{round(float(v) * 255):02X}" for v in (r, g, b)))
    return fills


def test_pdf_letter_and_board_pack_fill_custom_statuses_with_their_colours(custom_round):
    statuses = league_service.league(custom_round, ROUND, "team").criteria.rag.statuses
    wanted = {"#1D70B8", "#912B88"}
    letter = _pdf_fills(letter_pdf(letter_data(custom_round, ROUND, "Digital", actor=local_admin())))
    assert wanted <= letter
    pack = _pdf_fills(boardpack_pdf(custom_round, ROUND, actor=local_admin()))
    assert {statuses.colour(s) for s in IMA_LEVELS} <= pack


def test_league_page_colours_custom_statuses(custom_round, monkeypatch):
    league_colours = {s: league_service.league(custom_round, ROUND, "team").criteria.rag.statuses.colour(s)
                      for s in IMA_LEVELS}
    assert league_colours["Good practice"] == "#1D70B8"
    monkeypatch.setenv("KIM_DATABASE_URL", str(custom_round.url))
    monkeypatch.delenv("KIM_ROLE", raising=False)
    at = AppTest.from_file(str(PROJECT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    for status in IMA_LEVELS:
        assert f"background-color: {league_colours[status]}" in styles, status
