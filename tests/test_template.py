"""Tests for kim_metrics.template: the return template reads back through the real parser,
its drop-downs cover every Score cell, and its guidance names every criterion."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import MultiCellRange
import pandas as pd
import pytest

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.services.demo import demo_org
from kim_metrics.domain.errors import KimError, NotFoundError, ValidationError
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_return
from kim_metrics.reports.template import HEADERS, write_template

DIRECTORATE = "Finance Directorate"
ROUND = "2026-Q3"


@pytest.fixture(scope="module")
def org() -> pd.DataFrame:
    return demo_org().assign(team_id=lambda f: range(1, len(f) + 1))


@pytest.fixture
def template(tmp_path: Path, criteria: CriteriaSet, org: pd.DataFrame) -> Path:
    path = tmp_path / "finance-2026-Q3.xlsx"
    write_template(path, criteria=criteria, teams=org, round_label=ROUND, directorate=DIRECTORATE,
                   deadline=date(2026, 10, 14), today=date(2026, 10, 1))
    return path


def _fill(path: Path, criteria: CriteriaSet, *, evidence: bool = True) -> dict[tuple[str, str], object]:
    """Fill every Score the way an information manager would; returns what was entered."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Return"]
    by_name = {c.name: c for c in criteria}
    entered = {}
    for n, row in enumerate(ws.iter_rows(min_row=2), start=0):
        c = by_name[row[3].value]
        if c.scale == "level":
            value: object = c.levels[n % len(c.levels)]
        elif c.scale == "yesno":
            value = "Yes" if n % 2 else "No"
        else:
            value = 40 + n % 61
        row[4].value = value
        if evidence:
            row[5].value = "Spot check of 20 files in September"
            row[6].value = "https://intranet.kim-demo.gov.uk/teams/finance/kim"
        entered[(row[2].value, c.id)] = value
    wb.save(path)
    return entered


def test_headers_layout_and_rows(template: Path, criteria: CriteriaSet, org: pd.DataFrame) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Return", "Guidance", "Lists"]
    assert wb["Lists"].sheet_state == "hidden"
    ws = wb["Return"]
    assert tuple(cell.value for cell in ws[1]) == HEADERS == (
        "Group", "Directorate", "Team", "Criterion", "Score", "Evidence", "Evidence link", "Comment")
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["F"].width > ws.column_dimensions["E"].width
    teams = org[org["directorate"] == DIRECTORATE]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(teams) * len(criteria)
    assert {r[2] for r in rows} == set(teams["team"])
    assert {r[1] for r in rows} == {DIRECTORATE}
    assert [r[3] for r in rows[:len(criteria)]] == [c.name for c in criteria]
    assert all(r[4] is None for r in rows)


def test_filled_template_reads_back_without_problems(template: Path, criteria: CriteriaSet,
                                                     org: pd.DataFrame) -> None:
    entered = _fill(template, criteria)
    parsed = parse_return(read_workbook(template), criteria, org)
    assert parsed.layout == "long"
    assert set(parsed.scores["sheet"]) == {"Return"}
    assert len(parsed.scores) == len(entered)
    for r in parsed.scores.itertuples():
        c = criteria.get(r.criterion)
        raw = entered[(r.team, r.criterion)]
        expected = {"level": lambda: c.levels.index(raw), "yesno": lambda: float(raw == "Yes"),
                    "percent": lambda: float(raw)}[c.scale]()
        assert r.claimed == expected


def test_blank_template_reports_one_empty_score_per_row(template: Path, criteria: CriteriaSet,
                                                        org: pd.DataFrame) -> None:
    rows = (org["directorate"] == DIRECTORATE).sum() * len(criteria)
    with pytest.raises(ValidationError) as caught:
        parse_return(read_workbook(template), criteria, org)
    problems = caught.value.problems
    assert len(problems) == rows
    assert all(p.message.startswith("The score is empty") for p in problems)
    assert {(p.sheet, p.column) for p in problems} == {("Return", "Score")}
    assert sorted(p.row for p in problems) == list(range(2, rows + 2))


def test_hidden_sheets_never_read_as_a_return(template: Path, criteria: CriteriaSet,
                                              org: pd.DataFrame) -> None:
    # Someone unhides the Lists sheet in Excel: it still must not look like a return.
    _fill(template, criteria)
    wb = openpyxl.load_workbook(template)
    wb["Lists"].sheet_state = "visible"
    wb.save(template)
    parsed = parse_return(read_workbook(template), criteria, org)
    assert set(parsed.scores["sheet"]) == {"Return"}


def _cells(sqref: MultiCellRange) -> set[str]:
    out = set()
    for rng in sqref.ranges:
        out.update(f"{get_column_letter(col)}{row}"
                   for row in range(rng.min_row, rng.max_row + 1)
                   for col in range(rng.min_col, rng.max_col + 1))
    return out


def test_score_cells_have_drop_downs_per_scale(template: Path, criteria: CriteriaSet) -> None:
    wb = openpyxl.load_workbook(template)
    ws, lists = wb["Return"], wb["Lists"]
    validations = ws.data_validations.dataValidation
    score_rows = {c.id: set() for c in criteria}
    by_name = {c.name: c for c in criteria}
    for row in ws.iter_rows(min_row=2):
        score_rows[by_name[row[3].value].id].add(row[4].coordinate)
    covered: list[str] = []
    for c in criteria:
        dv = next(v for v in validations if _cells(v.sqref) == score_rows[c.id])
        covered += sorted(_cells(dv.sqref))
        assert dv.showInputMessage and dv.prompt and len(dv.prompt) <= 255
        assert len(dv.promptTitle) <= 32
        if c.scale == "percent":
            assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("whole", "between", "0", "100")
            continue
        assert dv.type == "list"
        sheet, _, ref = dv.formula1.partition("!")
        assert sheet.strip("'") == "Lists"
        choices = [cell.value for row in lists[ref.replace("$", "")] for cell in row]
        assert choices == (list(c.levels) if c.scale == "level" else ["Yes", "No"])
    assert sorted(covered) == sorted(set().union(*score_rows.values()))


def test_guidance_explains_round_evidence_rule_and_every_criterion(template: Path,
                                                                    criteria: CriteriaSet) -> None:
    ws = openpyxl.load_workbook(template)["Guidance"]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert ROUND in text and DIRECTORATE in text
    assert "Please return this by 14 October 2026, the deadline for 2026-Q3" in text
    assert "counts only if it has evidence" in text
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Id")
    assert header == ("Id", "Criterion", "Description", "Scale", "Accepted scores",
                      "What Green needs", "How to move up")
    table = {r[0]: r for r in ws.iter_rows(values_only=True) if r[0] in criteria.ids}
    assert list(table) == criteria.ids and len(table) == 7
    for c in criteria:
        _id, name, description, _scale, accepted, green, steps = table[c.id]
        assert (name, description) == (c.name, c.description)
        assert all(g in steps for g in c.guidance)
    assert table["naming"][5] == "Fully embedded"
    assert table["training"][5] == "At least 90%"
    assert table["information_manager"][4] == "Yes or No"
    assert "Not started" in table["naming"][4]


def test_directorate_filter_ignores_case_and_spacing(criteria: CriteriaSet, org: pd.DataFrame) -> None:
    data = write_template(io.BytesIO(), criteria=criteria, teams=org, round_label="2026-q3",
                          directorate="  finance   directorate ")
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["Return"].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in rows} == {DIRECTORATE}


def test_unknown_directorate_suggests_the_closest(criteria: CriteriaSet, org: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match="Did you mean 'Finance Directorate'"):
        write_template(io.BytesIO(), criteria=criteria, teams=org, round_label=ROUND,
                       directorate="Finanse Directorate")


def test_whole_department_and_bytes(criteria: CriteriaSet, org: pd.DataFrame, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    data = write_template(buffer, criteria=criteria, teams=org, round_label=ROUND)
    assert data == buffer.getvalue() and data.startswith(b"PK")
    ws = openpyxl.load_workbook(io.BytesIO(data))["Return"]
    assert ws.max_row - 1 == len(org) * len(criteria)
    assert write_template(tmp_path / "all.xlsx", criteria=criteria, teams=org, round_label=ROUND) is None


def test_inactive_teams_left_out_and_no_teams_refused(criteria: CriteriaSet, org: pd.DataFrame) -> None:
    finance = org[org["directorate"] == DIRECTORATE].assign(active=True)
    finance.loc[finance.index[0], "active"] = False
    data = write_template(io.BytesIO(), criteria=criteria, teams=finance, round_label=ROUND)
    teams = {r[2] for r in openpyxl.load_workbook(io.BytesIO(data))["Return"].iter_rows(
        min_row=2, values_only=True)}
    assert teams == set(finance["team"].iloc[1:])
    with pytest.raises(KimError, match="Load the organisation"):
        write_template(io.BytesIO(), criteria=criteria, teams=org.iloc[:0], round_label=ROUND)


@pytest.mark.parametrize(("deadline", "today", "says", "never"), [
    (date(2026, 10, 14), date(2026, 10, 14), "Please return this by 14 October 2026", "were due"),
    (date(2026, 10, 14), date(2026, 10, 15), "were due by 14 October 2026", "Please return this by"),
    (None, date(2026, 10, 1), "no deadline is set for this round yet", "Please return this by"),
])
def test_guidance_quotes_the_rounds_own_deadline_and_never_a_past_one_as_to_come(
        criteria: CriteriaSet, org: pd.DataFrame, deadline, today, says, never) -> None:
    data = write_template(io.BytesIO(), criteria=criteria, teams=org, round_label=ROUND,
                          deadline=deadline, today=today)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Guidance"]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert says in text
    assert never not in text
