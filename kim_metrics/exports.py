"""League tables as files other tools read: CSV, JSON and Excel.

Evidence and names are typed by teams, so any text a spreadsheet would run as a formula
is neutralised in every export.
"""

from __future__ import annotations

import io
import json

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .criteria import CriteriaSet
from .league import league_records
from .rag import rag_style

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def league_frame(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> pd.DataFrame:
    """The league as people read it: one column per field, words not codes."""
    out = pd.DataFrame({
        "Rank": table["rank"],
        "Movement": table["movement_label"],
        "Name": table["name"],
    })
    if level != "group":
        out["Directorate"] = table["directorate"] if level == "team" else table["name"]
    if level != "group":
        out["Group"] = table["group"]
    out["Score"] = table["score"]
    out["RAG"] = table["rag"]
    if level != "team":
        out["Teams returned"] = table["returned_teams"].astype(str) + " of " + table["teams"].astype(str)
    for c in criteria:
        out[c.name] = table[f"{c.id}.rag"].where(table[f"{c.id}.percent"].notna(), "No return")
    if level == "team":
        out["Unevidenced claims"] = table["unevidenced"]
    if level == "directorate":
        out = out.drop(columns=["Directorate"])
    return out


def league_csv(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> str:
    frame = league_frame(table, criteria, level).map(neutralise)
    return frame.to_csv(index=False)


def league_json(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> str:
    return json.dumps(league_records(table, criteria, level), ensure_ascii=False, indent=2)


def league_xlsx(table: pd.DataFrame, criteria: CriteriaSet, level: str,
                scores: pd.DataFrame | None = None) -> bytes:
    """An Excel league: frozen header, filters, widths, RAG cells filled *and* worded."""
    frame = league_frame(table, criteria, level)
    wb = Workbook()
    ws = wb.active
    ws.title = "League"
    _write_sheet(ws, frame, rag_columns={"RAG", *(c.name for c in criteria)})
    if scores is not None and not scores.empty:
        _write_sheet(wb.create_sheet("Scores"), _scores_frame(scores, criteria), rag_columns={"RAG"})
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _scores_frame(scores: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    names = {c.id: c.name for c in criteria}
    return pd.DataFrame({
        "Group": scores["group"], "Directorate": scores["directorate"], "Team": scores["team"],
        "Criterion": scores["criterion"].map(names), "Claimed": scores["claimed_raw"],
        "Counted": scores["counted"], "RAG": scores["rag"], "Evidence": scores["evidence"],
        "Evidence link": scores["evidence_link"], "Comment": scores["comment"],
        "Unevidenced": scores["unevidenced"].map({True: "Yes", False: ""}),
        "Review": scores["review_status"],
    }).sort_values(["Group", "Directorate", "Team"], kind="stable")


def _write_sheet(ws, frame: pd.DataFrame, *, rag_columns: set[str]) -> None:
    ws.append(list(frame.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for j, name in enumerate(frame.columns, start=1):
        width = max([len(str(name))] + [len(str(v)) for v in frame[name].head(500)]) + 2
        ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8), 60)
        if name in rag_columns:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                style = rag_style(cell.value)
                if style:
                    cell.fill = PatternFill("solid", fgColor=style.background.lstrip("#"))
                    cell.font = Font(color=style.text.lstrip("#"), bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _cell(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return neutralise(value)
