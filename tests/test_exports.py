"""League exports (Excel, CSV, JSON) against the round they come from, and formula neutralising.

The demo department is loaded once per module into a temporary SQLite database, with one
extra team whose name and evidence are spreadsheet-formula payloads, as a hostile team
might type them.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.errors import Problem, ProblemCode, UsageError, ValidationError
from kim_metrics.reports.cells import cell_value, neutralise, safe_text
from kim_metrics.reports.exports import _write_sheet, league_csv, league_frame, league_xlsx
from kim_metrics.reports.registry import Renderer, formats, render, renderer
from kim_metrics.reports.registry import renderers as all_renderers
from kim_metrics.services.views import problems_frame
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import ima
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.services.documents import export_league, export_scores_csv, league_export
from kim_metrics.domain.league import league_records
from kim_metrics.domain.statuses import RAG_STYLES
from tests.support.hostile_demo import EVIL_DIRECTORATE, EVIL_TEAM, PAYLOADS, ROUND, assert_inert

@pytest.fixture(scope="module")
def engine(hostile_demo):
    return hostile_demo


@pytest.fixture(scope="module")
def team_league(engine):
    return league_service.league(engine, ROUND, "team")


@pytest.fixture(scope="module")
def workbook(engine):
    return load_workbook(io.BytesIO(export_league(engine, ROUND, "team", "xlsx", actor=local_admin())))


def _rows(ws) -> tuple[list[str], list[dict]]:
    values = list(ws.iter_rows(values_only=True))
    headers = list(values[0])
    return headers, [dict(zip(headers, v)) for v in values[1:]]


# neutralise --------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS + ["\rcmd", "=1+1", "-", "@"])
def test_neutralise_makes_formula_text_inert(payload):
    assert neutralise(payload) == "'" + payload
    assert safe_text(payload) == "'" + payload


@pytest.mark.parametrize("value", [-2, -2.5, np.int64(-3), np.float64(-1.5), 0, 3.2, None, True,
                                   "Amber", "", "Team -2", "'=already"])
def test_neutralise_leaves_numbers_and_plain_text(value):
    assert neutralise(value) is value


def test_safe_text_blanks_missing_and_drops_control_characters():
    assert safe_text(None) == ""
    assert safe_text(float("nan")) == ""
    # One rule with reading: a vertical tab (Word's line break) becomes a line break.
    assert safe_text("a\x00b\x0bc") == "ab\nc"
    assert safe_text("\x01=1+1") == "'=1+1"


def test_negative_numbers_stay_numbers_in_excel():
    frame = pd.DataFrame({"Change": [-2, 3], "Note": ["-2+3", "fine"], "Share": [-0.5, 1.0]})
    wb = Workbook()
    _write_sheet(wb.active, frame, rag_columns=set())
    ws = wb.active
    assert ws["A2"].value == -2 and ws["A2"].data_type == "n"
    assert ws["C2"].value == -0.5 and ws["C2"].data_type == "n"
    assert ws["B2"].value == "'-2+3" and ws["B2"].data_type == "s"


# Excel -------------------------------------------------------------------------------------

def test_xlsx_league_sheet_matches_the_round(workbook, team_league):
    ws = workbook["League"]
    assert workbook.sheetnames == ["League", "Scores", "About"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    headers, rows = _rows(ws)
    table = team_league.table
    assert len(rows) == len(table)
    expected = league_frame(table, team_league.criteria, "team")
    assert headers == list(expected.columns)
    for row, want in zip(rows, table.to_dict("records")):
        assert row["Name"] == safe_text(want["name"])
        assert row["Rank"] == (None if pd.isna(want["rank"]) else int(want["rank"]))
        if pd.isna(want["score"]):
            assert row["Score"] is None
        else:
            assert math.isclose(row["Score"], want["score"])
        assert row["RAG"] == want["rag"]
        assert row["Movement"] == (want["movement_label"] or None)
        assert row["Unevidenced claims"] == want["unevidenced"]
    # Widths fit names, not Excel's default 8.43 characters.
    name_col = headers.index("Name") + 1
    assert ws.column_dimensions[chr(64 + name_col)].width >= 20


def test_xlsx_rag_cells_are_filled_and_worded(workbook, team_league):
    ws = workbook["League"]
    headers = [c.value for c in ws[1]]
    rag_cols = [headers.index("RAG") + 1] + [headers.index(c.name) + 1 for c in team_league.criteria]
    checked = set()
    for row in ws.iter_rows(min_row=2):
        for col in rag_cols:
            cell = row[col - 1]
            assert cell.value in RAG_STYLES, f"{cell.coordinate} has no RAG word: {cell.value!r}"
            style = RAG_STYLES[cell.value]
            assert cell.fill.fill_type == "solid"
            assert cell.fill.fgColor.rgb[-6:] == style.background.lstrip("#").upper()
            assert cell.font.color.rgb[-6:] == style.text.lstrip("#").upper()
            checked.add(cell.value)
    assert {"Red", "Amber", "Green", "No return"} <= checked


def test_xlsx_scores_sheet_lists_every_score_with_evidence(engine, workbook):
    scored = score_service.scored_round(engine, ROUND, actor=local_admin())
    headers, rows = _rows(workbook["Scores"])
    assert len(rows) == len(scored.scores)
    assert {"Team", "Criterion", "Claimed", "Counts as", "RAG", "Evidence", "Evidence link",
            "Comment"} <= set(headers)
    evil = [r for r in rows if r["Team"] == "'" + EVIL_TEAM]
    assert len(evil) == len(scored.criteria)
    assert sorted(r["Evidence"] for r in evil if r["Evidence"] and r["Evidence"] != "Survey planned") == \
        sorted("'" + p for p in PAYLOADS)
    training = next(r for r in evil if r["Criterion"] == "Staff KIM training completed")
    assert training["Unevidenced claim"] == "Yes" and training["Counts as"] == "0%"
    assert training["Comment"] == "'" + PAYLOADS[0]
    # Evidence of a demo team is there word for word.
    sample = scored.scores[scored.scores["evidence"].fillna("") != ""].iloc[0]
    assert any(r["Team"] == sample["team"] and r["Evidence"] == sample["evidence"] for r in rows)
    ws = workbook["Scores"]
    rag_col = headers.index("RAG") + 1
    for (cell,) in ws.iter_rows(min_row=2, min_col=rag_col, max_col=rag_col):
        assert cell.fill.fgColor.rgb[-6:] == RAG_STYLES[cell.value].background.lstrip("#").upper()


def test_xlsx_has_no_formula_anywhere(workbook):
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                assert_inert(cell.value, f"{ws.title}!{cell.coordinate}")


@pytest.mark.parametrize("level", ["directorate", "group"])
def test_xlsx_other_levels_match_the_round(engine, level):
    result = league_service.league(engine, ROUND, level)
    wb = load_workbook(io.BytesIO(export_league(engine, ROUND, level, "xlsx", actor=local_admin())))
    _, rows = _rows(wb["League"])
    assert [r["Name"] for r in rows] == list(result.table["name"])
    assert [r["Rank"] for r in rows] == [None if pd.isna(v) else int(v) for v in result.table["rank"]]
    assert [r["RAG"] for r in rows] == list(result.table["rag"])
    assert all(" of " in r["Teams returned"] for r in rows)


def test_xlsx_about_sheet_names_the_round(workbook):
    text = " ".join(str(v) for row in workbook["About"].iter_rows(values_only=True) for v in row if v)
    assert ROUND in text and "2026-Q2" in text and "apostrophe" in text


# CSV and JSON ------------------------------------------------------------------------------

def test_csv_league_matches_the_round_and_is_inert(engine, team_league):
    data = export_league(engine, ROUND, "team", "csv", actor=local_admin())
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    table = team_league.table
    assert [r["Name"] for r in rows] == [safe_text(n) for n in table["name"]]
    assert [r["RAG"] for r in rows] == list(table["rag"])
    assert [r["Rank"] for r in rows] == ["" if pd.isna(v) else str(int(v)) for v in table["rank"]]
    assert "'" + EVIL_TEAM in [r["Name"] for r in rows]
    for r in rows:
        for key, value in r.items():
            assert_inert(value, f"column {key}")
    assert data == league_csv(table, team_league.criteria, "team")


def test_scores_csv_keeps_evidence_inert(engine):
    rows = list(csv.DictReader(io.StringIO(export_scores_csv(engine, ROUND, actor=local_admin()).decode("utf-8-sig"))))
    evidence = {r["Evidence"] for r in rows}
    for payload in PAYLOADS:
        assert "'" + payload in evidence
        assert payload not in evidence
    assert "'" + PAYLOADS[0] in {r["Evidence link"] for r in rows}
    for r in rows:
        for key, value in r.items():
            assert_inert(value, f"column {key}")


def test_json_matches_the_round_and_keeps_values_as_stored(engine, team_league):
    records = json.loads(export_league(engine, ROUND, "team", "json", actor=local_admin()))
    assert records == json.loads(json.dumps(league_records(team_league.table, team_league.criteria, "team")))
    assert EVIL_TEAM in [r["name"] for r in records]   # JSON is for programs, not spreadsheets
    first = records[0]
    assert {"rank", "name", "directorate", "group", "score", "rag", "movement", "criteria"} <= set(first)


def test_league_xlsx_without_round_details_still_works(team_league):
    data = league_xlsx(team_league.table, team_league.criteria, "team")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["League", "About"]


def test_unknown_format_is_refused(engine):
    with pytest.raises(UsageError, match="csv, json or xlsx"):
        export_league(engine, ROUND, "team", "ods", actor=local_admin())


def test_cli_league_xlsx_and_csv(engine, tmp_path, capsys):
    from kim_metrics.cli import main
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "league.xlsx"
    assert main(["--db", url, "league", "--round", ROUND, "--format", "xlsx", "-o", str(out)]) == 0
    wb = load_workbook(out)
    ws = wb["League"]
    assert ws.freeze_panes == "A2"
    headers = [c.value for c in ws[1]]
    rag = ws.cell(row=2, column=headers.index("RAG") + 1)
    assert rag.fill.fgColor.rgb[-6:] == RAG_STYLES[rag.value].background.lstrip("#").upper()
    assert "Scores" in wb.sheetnames
    out_csv = tmp_path / "league.csv"
    assert main(["--db", url, "league", "--round", ROUND, "--format", "csv", "-o", str(out_csv)]) == 0
    assert "'" + EVIL_TEAM.replace('"', '""') in out_csv.read_text(encoding="utf-8-sig")


# CSV for Excel: UTF-8 with a byte-order mark -------------------------------------------------

def test_csv_files_carry_a_byte_order_mark(engine):
    trail = audit_service.audit_trail(engine, reader=local_admin())
    files = {"league": export_league(engine, ROUND, "team", "csv", actor=local_admin()),
             "scores": export_scores_csv(engine, ROUND, actor=local_admin()),
             "audit": render("audit", "csv", trail)}
    for name, data in files.items():
        assert data.startswith(codecs.BOM_UTF8), name
        assert not data[3:].startswith(codecs.BOM_UTF8), f"{name}: one mark, not two"
        text = data.decode("utf-8-sig")
        assert text.splitlines()[0].split(",")[0] in {"Rank", "Group", *trail.columns}, name
    # The movement arrows and dash Excel must show, as UTF-8 after the mark.
    league = files["league"].decode("utf-8-sig")
    for symbol in ("▲", "▼", "–"):
        assert symbol in league
    assert "▲".encode() in files["league"] and "▲".encode("cp1252", errors="ignore") == b""


def test_csv_to_the_terminal_has_no_mark_but_the_file_has(engine, tmp_path, capsys):
    from kim_metrics.cli import main
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "league", "--round", ROUND, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Rank,Movement,Name")
    path = tmp_path / "league.csv"
    assert main(["--db", url, "league", "--round", ROUND, "--format", "csv", "-o", str(path)]) == 0
    assert path.read_bytes() == export_league(engine, ROUND, "team", "csv", actor=local_admin())
    assert main(["--db", url, "audit", "--format", "csv", "-o", str(tmp_path / "audit.csv")]) == 0
    assert (tmp_path / "audit.csv").read_bytes().startswith(codecs.BOM_UTF8)


# The renderer registry --------------------------------------------------------------------------

def test_registry_lists_every_format_the_command_line_offers():
    assert formats("league") == ("csv", "json", "xlsx")
    assert formats("letter") == ("docx", "pdf")
    assert formats("boardpack") == ("pdf",)
    assert formats("audit") == ("csv", "json")
    xlsx = renderer("league", "XLSX")
    assert xlsx.extension == "xlsx" and xlsx.content_type.endswith("spreadsheetml.sheet")
    assert xlsx.file_name("kim-league-2026-Q3") == "kim-league-2026-Q3.xlsx"
    assert renderer("league", "csv").is_text and not xlsx.is_text
    with pytest.raises(UsageError, match="docx or pdf, not 'odt'"):
        renderer("letter", "odt")
    with pytest.raises(UsageError, match="no document called 'minutes'"):
        renderer("minutes", "pdf")


def test_a_new_format_is_one_registration(engine, tmp_path, monkeypatch):
    """Registered once, a format is a --format choice and writes what its function returns."""
    from kim_metrics.cli import main
    from kim_metrics.reports import registry

    tsv = Renderer("league", "tsv", "tsv", "text/tab-separated-values; charset=utf-8",
                   render=lambda e: league_frame(e.table, e.criteria, e.level)
                   .to_csv(sep="\t", index=False).encode("utf-8"), label="TSV")
    monkeypatch.setitem(registry._RENDERERS, ("league", "tsv"), tsv)
    assert "tsv" in formats("league")
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "league.tsv"
    assert main(["--db", url, "league", "--round", ROUND, "--format", "tsv", "-o", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header[:3] == ["Rank", "Movement", "Name"]


# No formula leaves the building ----------------------------------------------------------------

HOSTILE_NAMES = [*PAYLOADS, "=1+1", '=HYPERLINK("https://evil.example/","Click")', "\uff1d1+1",
                 "\uff0bcmd", "\uff0d2", "\uff20SUM(A1)", "\rcmd"]


def _hostile_org() -> pd.DataFrame:
    return pd.DataFrame({"group": "+Group", "directorate": "@Directorate",
                         "team": HOSTILE_NAMES, "active": True})


def _hostile_criteria(criteria):
    first, *rest = criteria.criteria
    return dataclasses.replace(criteria, criteria=(
        dataclasses.replace(first, name="=1+1 naming", description="@SUM(A1)"), *rest))


# Every document with an Excel renderer needs a sample here: a new one fails the scan below
# until it has one, so its workbook is scanned too.
XLSX_SAMPLES = {
    "league": lambda engine: league_export(engine, ROUND, "team", with_scores=True, actor=local_admin()),
    "ima-plan": lambda engine: ima.action_plan(engine),
    # An upload's problem report quotes what the person typed, formulas included.
    "problems": lambda engine: problems_frame(ValidationError([
        Problem("return.xlsx", "Return", 4, "Team", '=HYPERLINK("https://evil.example/","x") is not a team.',
                code=ProblemCode.UNKNOWN_TEAM),
        Problem("return.xlsx", "=1+1", None, None, "+cmd|' /C calc'!A0", code=ProblemCode.BAD_VALUE)])),
}


def generated_workbooks(engine, folder) -> dict[str, bytes]:
    """Every workbook the project writes, filled with text typed to be a formula."""
    from kim_metrics.reports.template import write_template
    from kim_metrics.services.demo import write_samples

    criteria = admin_service.round_criteria(engine, ROUND)
    books = {
        "template (hostile names)": write_template(
            io.BytesIO(), criteria=_hostile_criteria(criteria), teams=_hostile_org(),
            round_label=ROUND),
        "template (hostile demo)": write_template(
            io.BytesIO(), criteria=criteria, teams=admin_service.organisation(engine), round_label=ROUND,
            directorate=EVIL_DIRECTORATE),
    }
    xlsx = [r for r in all_renderers() if r.extension == "xlsx"]
    missing = {r.document for r in xlsx} - set(XLSX_SAMPLES)
    assert not missing, f"add a sample to XLSX_SAMPLES for {sorted(missing)}"
    for r in xlsx:
        books[f"{r.document} as {r.name}"] = r.render(XLSX_SAMPLES[r.document](engine))
    for level in ("team", "directorate", "group"):
        books[f"league export, {level}"] = export_league(engine, ROUND, level, "xlsx", actor=local_admin())
    for path in write_samples(folder):
        if path.suffix == ".xlsx":
            books[path.name] = path.read_bytes()
    return books


def test_no_workbook_the_project_writes_holds_a_formula(engine, tmp_path):
    books = generated_workbooks(engine, tmp_path)
    assert len(books) >= 7
    for name, data in books.items():
        wb = load_workbook(io.BytesIO(data))
        cells = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    where = f"{name}: {ws.title}!{cell.coordinate}"
                    assert cell.data_type != "f", f"{where} is a formula: {cell.value!r}"
                    assert_inert(cell.value, where)
                    cells += cell.value is not None
        assert cells, f"{name} is empty"


def test_template_keeps_hostile_names_as_text(engine):
    from kim_metrics.reports.template import write_template

    data = write_template(io.BytesIO(), criteria=_hostile_criteria(admin_service.round_criteria(engine, ROUND)),
                          teams=_hostile_org(), round_label=ROUND)
    ws = load_workbook(io.BytesIO(data))["Return"]
    headers = [c.value for c in ws[1]]
    team, group, criterion = (headers.index(h) for h in ("Team", "Group", "Criterion"))
    rows = list(ws.iter_rows(min_row=2))
    assert {r[team].value for r in rows} == {"'" + n for n in HOSTILE_NAMES}
    assert {r[group].value for r in rows} == {"'+Group"}
    assert "'=1+1 naming" in {r[criterion].value for r in rows}
    assert all(r[team].data_type == "s" for r in rows)


@pytest.mark.parametrize("text", ["\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20A1", "=1", "+1", "-1",
                                  "@A1", "\t1", "\r1"])
def test_full_width_and_ascii_formula_signs_are_neutralised(text):
    assert neutralise(text) == "'" + text
    assert cell_value(text) == "'" + text


@pytest.mark.parametrize("value, expected", [(np.int64(-3), -3), (np.float64(-1.5), -1.5),
                                             (float("nan"), None), (pd.NA, None), (None, None),
                                             (-2, -2), ("Amber", "Amber")])
def test_cell_values_keep_numbers_numbers(value, expected):
    got = cell_value(value)
    assert got == expected and type(got) is type(expected)
