"""The return template the app hands out: the long layout, pre-filled, with drop-downs.

One row per team × criterion on the "Return" sheet, a "Guidance" sheet that says how to fill
it in, and a hidden "Lists" sheet holding the drop-down choices (a list typed into a data
validation is capped at 255 characters, which long level labels soon exceed). The headers are
the parser's own labels, so a filled template always reads back as a long return.
"""

from __future__ import annotations

import functools
import io
from datetime import date
from os import PathLike
from types import SimpleNamespace
from typing import TYPE_CHECKING, BinaryIO

import pandas as pd

from kim_metrics.domain.criteria import CriteriaSet, Criterion
from kim_metrics.domain.errors import KimError
from kim_metrics.domain.names import find_directorate
from kim_metrics.reading.returns import FIELD_LABELS
from kim_metrics.reports.cells import neutralise_workbook
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.reports.words import long_date

if TYPE_CHECKING:
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

RETURN_SHEET = "Return"
GUIDANCE_SHEET = "Guidance"
LISTS_SHEET = "Lists"
COLUMNS = ("group", "directorate", "team", "criterion", "score", "evidence", "evidence_link",
           "comment")
HEADERS = tuple(FIELD_LABELS[f] for f in COLUMNS)
WIDTHS = {"group": 26, "directorate": 34, "team": 32, "criterion": 48, "score": 20,
          "evidence": 60, "evidence_link": 40, "comment": 36}
WRAPPED = ("criterion", "evidence", "evidence_link", "comment")


# openpyxl is imported when a template is written, not with this module: the upload page
# imports it for its download button, and openpyxl costs the server memory until then.
@functools.cache
def _styles() -> SimpleNamespace:
    from openpyxl.styles import Alignment, Font, PatternFill
    return SimpleNamespace(
        bold=Font(bold=True), title=Font(bold=True, size=14),
        header_fill=PatternFill("solid", start_color="D9E1F2"),
        # Pre-filled cells are shaded so people can see which cells are theirs to fill.
        prefilled_fill=PatternFill("solid", start_color="F2F2F2"),
        wrap=Alignment(wrap_text=True, vertical="top"), top=Alignment(vertical="top"))


def write_template(target: str | PathLike | BinaryIO, *, criteria: CriteriaSet,
                   teams: pd.DataFrame, round_label: str,
                   directorate: str | None = None, deadline: date | None = None,
                   today: date | None = None) -> bytes | None:
    """Write the return template for ``round_label`` to a path or a binary file object.

    ``teams`` has ``team``, ``directorate`` and ``group`` columns (``org_frame`` or
    ``parse_org`` shape); with ``directorate`` only that directorate's teams are listed.
    ``deadline`` is the round's own deadline for returns (none set: the guidance says the KIM
    team gives the date); ``today`` (default: today) decides whether it is still to come.
    Returns the workbook's bytes when ``target`` is a ``BytesIO``, otherwise None.
    """
    from openpyxl import Workbook

    label = normalise_label(round_label)
    listed = _teams_for(teams, directorate)
    wb = Workbook()
    _write_return(wb.active, listed, criteria, _lists_sheet(wb.create_sheet(LISTS_SHEET), criteria))
    _write_guidance(wb.create_sheet(GUIDANCE_SHEET, index=1), criteria, label,
                    listed["directorate"].iloc[0] if directorate is not None else None,
                    deadline_sentence(label, deadline, today or date.today()))
    wb.properties.title = f"KIM return {label}"
    wb.properties.creator = "KIM League"
    # Names and criteria text are typed by people: none of it may reach Excel as a formula.
    neutralise_workbook(wb).save(target)
    return target.getvalue() if isinstance(target, io.BytesIO) else None


def _teams_for(teams: pd.DataFrame, directorate: str | None) -> pd.DataFrame:
    if "active" in teams.columns:
        teams = teams[teams["active"].astype(bool)]
    if directorate is not None:
        found = find_directorate(directorate, teams["directorate"], where=" in the organisation structure",
                                 fix=" Use the directorate's name as the organisation workbook gives it.")
        teams = teams[teams["directorate"] == found]
    if teams.empty:
        raise KimError("There are no teams to put in the template. Load the organisation "
                       "workbook first (kim org load FILE, or the Organisation page).")
    return teams.sort_values(["group", "directorate", "team"], kind="stable").reset_index(drop=True)


def _lists_sheet(ws: Worksheet, criteria: CriteriaSet) -> dict[str, str]:
    """Write each drop-down's choices in its own column; criterion id → range formula."""
    from openpyxl.utils import get_column_letter, quote_sheetname

    ws.sheet_state = "hidden"
    ranges: dict[str, str] = {}
    column = 0
    for c in criteria:
        choices = c.choices()
        if not choices:
            continue
        column += 1
        letter = get_column_letter(column)
        ws.cell(row=1, column=column, value=c.id)
        for n, choice in enumerate(choices, start=2):
            ws.cell(row=n, column=column, value=choice)
        ranges[c.id] = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(choices) + 1}"
    return ranges


def _write_return(ws: Worksheet, teams: pd.DataFrame, criteria: CriteriaSet,
                  lists: dict[str, str]) -> None:
    from openpyxl.utils import get_column_letter

    style = _styles()
    ws.title = RETURN_SHEET
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = style.bold
        cell.fill = style.header_fill
        cell.alignment = style.wrap
    cells: dict[str, list[str]] = {c.id: [] for c in criteria}
    score_letter = get_column_letter(COLUMNS.index("score") + 1)
    for team in teams.itertuples(index=False):
        for c in criteria:
            ws.append([team.group, team.directorate, team.team, c.name])
            cells[c.id].append(f"{score_letter}{ws.max_row}")
    prefilled = COLUMNS.index("criterion") + 1
    wrapped = {COLUMNS.index(f) for f in WRAPPED}
    for row in ws.iter_rows(min_row=2, max_col=len(COLUMNS)):
        for i, cell in enumerate(row):
            cell.alignment = style.wrap if i in wrapped else style.top
            if i < prefilled:
                cell.fill = style.prefilled_fill
    for c in criteria:
        ws.add_data_validation(_score_validation(c, lists.get(c.id), cells[c.id]))
    for field, width in WIDTHS.items():
        ws.column_dimensions[get_column_letter(COLUMNS.index(field) + 1)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{ws.max_row}"


_EVIDENCE_NOTE = "A score above the lowest counts only with evidence: fill in Evidence or Evidence link."


def _score_validation(c: Criterion, choices: str | None, cells: list[str]) -> DataValidation:
    from openpyxl.worksheet.datavalidation import DataValidation

    # Excel caps an input message at 255 characters and its title at 32.
    title = c.name if len(c.name) <= 32 else c.name[:31] + "…"
    if choices is None:
        dv = DataValidation(type="whole", operator="between", formula1="0",
                            formula2=f"{c.top:g}", allow_blank=True, errorStyle="stop")
        dv.prompt = c.measure.prompt() + " " + _EVIDENCE_NOTE
        dv.error = f"Enter a whole number from 0 to {c.top:g}."
    else:
        # A warning rather than a stop: the parser also accepts a level's number (0-3).
        dv = DataValidation(type="list", formula1=choices, allow_blank=True, errorStyle="warning")
        dv.prompt = "Choose from the list. " + _EVIDENCE_NOTE
        dv.error = f"Choose one of: {', '.join(c.choices())}."
    dv.promptTitle = dv.errorTitle = title
    dv.showInputMessage = dv.showErrorMessage = True
    dv.sqref = " ".join(cells)
    return dv


def deadline_sentence(label: str, deadline: date | None, today: date) -> str:
    """When the round's returns are due, in words that never quote a past date as if to come."""
    if deadline is None:
        return (f"The KIM team will tell you the date returns for {label} are due; no deadline "
                "is set for this round yet.")
    if deadline >= today:
        return f"Please return this by {long_date(deadline)}, the deadline for {label}."
    return (f"Returns for {label} were due by {long_date(deadline)}. A return sent now is still "
            "accepted, and marked late, until the KIM team closes the round.")


def _write_guidance(ws: Worksheet, criteria: CriteriaSet, label: str, directorate: str | None,
                    due: str) -> None:
    style = _styles()
    top = criteria.rag.levels[-1]
    ws.append([f"KIM return for {label}"])
    ws["A1"].font = style.title
    ws.append([f"Directorate: {directorate}" if directorate else "All directorates"])
    ws.append([due])
    ws.append([])
    ws.append(["How to fill in the return"])
    ws.cell(row=ws.max_row, column=1).font = style.bold
    steps = [
        f"1. The {RETURN_SHEET} sheet has one row for each of your teams and each criterion. "
        "Do not change the Group, Directorate, Team or Criterion cells (shaded grey).",
        "2. In Score, choose a value from the drop-down list. For a percentage, type a whole "
        "number from 0 to 100.",
        "3. The evidence rule: a score above the lowest level (above "
        + ", ".join(dict.fromkeys(c.measure.lowest() for c in criteria))
        + ") counts only if it has evidence. Say in Evidence what shows it (for example "
        "'Naming convention published on intranet page; spot check of 20 files in March') "
        "and, where you can, put a link to it in Evidence link. A score without evidence is "
        "shown as claimed but counted as the lowest level, and flagged.",
        "4. Comment is optional: use it for anything the KIM team should know.",
        "5. If you are not returning for one of your teams this round, delete all of its rows. "
        "A team you keep needs a score for every criterion. If a team is missing or wrongly "
        "named, ask the KIM team to update the organisation structure.",
        "6. Upload the workbook on the Upload page. Every problem is listed cell by cell before "
        "anything is saved, and nothing is saved until all of them are fixed. Uploading again "
        "for a team replaces its earlier scores for the round.",
    ]
    for step in steps:
        ws.append([step])
        ws.cell(row=ws.max_row, column=1).alignment = style.wrap
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=6)
        # Excel never fits a merged row's height to its text, so size it by hand.
        ws.row_dimensions[ws.max_row].height = 15 * (1 + len(step) // 150)
    ws.append([])
    ws.append(["The criteria"])
    ws.cell(row=ws.max_row, column=1).font = style.bold
    table_headers = ["Id", "Criterion", "Description", "Scale", "Accepted scores",
                     f"What {top} needs", "How to move up"]
    ws.append(table_headers)
    for cell in ws[ws.max_row]:
        cell.font = style.bold
        cell.fill = style.header_fill
    for c in criteria:
        ws.append([c.id, c.name, c.description, c.measure.describe(), _accepted(c),
                   _best_needs(c, criteria), "\n".join(c.steps_up(criteria.rag))])
        for cell in ws[ws.max_row]:
            cell.alignment = style.wrap
    for letter, width in zip("ABCDEFG", (22, 36, 50, 16, 36, 24, 80)):
        ws.column_dimensions[letter].width = width


def _accepted(c: Criterion) -> str:
    text = c.accepted()
    return text[:1].upper() + text[1:]


def _best_needs(c: Criterion, criteria: CriteriaSet) -> str:
    """The value the best status needs, or the best status the criterion can reach."""
    lowest, status = c.bands(criteria.rag)[-1]
    value = c.measure.at_least(lowest)
    return value if status == criteria.rag.levels[-1] else f"{status} at best: {value}"
