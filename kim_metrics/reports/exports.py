"""League tables as files other tools read: CSV, JSON and Excel, and the audit trail as CSV.

Everything here renders plain data: the league table and scores that ``api.league`` and
``api.scored_round`` return (``services.documents`` fetches them), the functions the
dashboard uses, so a file never shows a number, rank or word the dashboard does not.

Text typed by people is made inert and cleaned by ``cells`` (see there). CSV files are
UTF-8 with a byte-order mark, so Excel on Windows shows ▲, ▼ and – as they are.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache

import pandas as pd

from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.league import league_records
from kim_metrics.domain.statuses import StatusSet, rag_style
from kim_metrics.reports.cells import cell_value, neutralise_workbook
from kim_metrics.reports.registry import Renderer, register
from kim_metrics.domain.frames import PERCENT, RAG, criterion_column

CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



# openpyxl takes about half a second to import and only the Excel files need it: the league
# page imports this module for its CSV, so openpyxl is imported when a workbook is written,
# and the shared header styles are made then (module attributes, read through __getattr__).
@cache
def _header_styles() -> dict:
    from openpyxl.styles import Font, PatternFill, Side
    return {"HEADER_FILL": PatternFill("solid", fgColor="0B0C0C"),
            "HEADER_FONT": Font(bold=True, color="FFFFFF"),
            "THIN": Side(style="thin", color="B1B4B6")}


def __getattr__(name: str):
    if name in ("HEADER_FILL", "HEADER_FONT", "THIN"):
        return _header_styles()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        out[c.name] = table[criterion_column(c.id, RAG)].where(
            table[criterion_column(c.id, PERCENT)].notna(), NO_RETURN)
    if level == "team":
        out["Unevidenced claims"] = table["unevidenced"]
    if level == "directorate":
        out = out.drop(columns=["Directorate"])
    return out


def scores_frame(scores: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """Every score of a round with its evidence, as people read it, in league order of names."""
    if scores.empty:
        return pd.DataFrame(columns=["Group", "Directorate", "Team", "Criterion", "Claimed",
                                     "Counts as", "RAG", "Evidenced", "Unevidenced claim",
                                     "Evidence", "Evidence link", "Comment", "Review",
                                     "Review note"])
    by_id = {c.id: c for c in criteria}
    order = {c.id: i for i, c in enumerate(criteria)}
    frame = scores.assign(_order=scores["criterion"].map(order)).sort_values(
        ["group", "directorate", "team", "_order"], kind="stable")
    counts_as = [by_id[cid].label(v) if cid in by_id else "" for cid, v in
                 zip(frame["criterion"], frame["counted"].astype(float))]
    review = frame["review_status"] if "review_status" in frame else pd.Series("", index=frame.index)
    note = frame["review_note"] if "review_note" in frame else pd.Series("", index=frame.index)
    return pd.DataFrame({
        "Group": frame["group"], "Directorate": frame["directorate"], "Team": frame["team"],
        "Criterion": frame["criterion"].map(lambda cid: by_id[cid].name if cid in by_id else cid),
        "Claimed": frame["claimed_raw"],
        "Counts as": counts_as,
        "RAG": frame["rag"],
        "Evidenced": frame["evidenced"].map({True: "Yes", False: "No"}),
        "Unevidenced claim": frame["unevidenced"].map({True: "Yes", False: ""}),
        "Evidence": frame["evidence"], "Evidence link": frame["evidence_link"],
        "Comment": frame["comment"], "Review": review, "Review note": note,
    }).reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as a CSV file: text cleaned and neutralised, UTF-8 with a byte-order mark.

    Without the mark Excel on Windows reads the file in the machine's code page and shows
    ▲ as "â–²"; with it every spreadsheet and ``csv`` reader (``utf-8-sig``) reads it right.
    """
    text = frame.map(lambda v: cell_value(v) if isinstance(v, str) else v).to_csv(index=False)
    return text.encode("utf-8-sig")


def league_csv(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> bytes:
    return csv_bytes(league_frame(table, criteria, level))


def scores_csv(scores: pd.DataFrame, criteria: CriteriaSet) -> bytes:
    """Every score with its evidence, one row per team × criterion."""
    return csv_bytes(scores_frame(scores, criteria))


def audit_csv(trail: pd.DataFrame) -> bytes:
    """The audit trail (``audit.trail`` shape) as people open it in a spreadsheet."""
    return csv_bytes(trail)


PROBLEM_HEADERS = {"sheet": "Sheet", "rows": "Rows", "column": "Column", "message": "Message"}


def problems_csv(report: pd.DataFrame) -> bytes:
    """An upload's problem report (``views.problems_frame`` shape), to send back to whoever
    filled the return."""
    return csv_bytes(report.rename(columns=PROBLEM_HEADERS))


def problems_xlsx(report: pd.DataFrame) -> bytes:
    """The problem report as a workbook: messages wrap in full, rows stay text ("16-22")."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Problems"
    _write_sheet(ws, report.rename(columns=PROBLEM_HEADERS), rag_columns=set(),
                 widths={"Sheet": 18, "Rows": 14, "Column": 20, "Message": 90},
                 wrap={"Message", "Rows", "Column", "Sheet"})
    wb.properties.title = "Problems found in a KIM return"
    wb.properties.creator = "KIM League"
    buffer = io.BytesIO()
    neutralise_workbook(wb).save(buffer)
    return buffer.getvalue()


def audit_json(trail: pd.DataFrame) -> bytes:
    return trail.to_json(orient="records", date_format="iso", force_ascii=False).encode("utf-8")


def league_json(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> str:
    return json.dumps(league_records(table, criteria, level), ensure_ascii=False, indent=2)


def league_xlsx(table: pd.DataFrame, criteria: CriteriaSet, level: str,
                scores: pd.DataFrame | None = None, *, round_label: str | None = None,
                previous_label: str | None = None) -> bytes:
    """An Excel league: frozen header, filters, widths, RAG cells filled *and* worded.

    With ``scores`` a second sheet lists every score with its evidence. A last sheet says
    what the file holds and how to read it.
    """
    frame = league_frame(table, criteria, level)
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "League"
    criterion_names = {c.name for c in criteria}
    _write_sheet(ws, frame, rag_columns={"RAG", *criterion_names}, statuses=criteria.rag.statuses,
                 widths={**{name: 16 for name in criterion_names}, "Rank": 7, "Movement": 11,
                         "Score": 8, "RAG": 11, "Unevidenced claims": 13, "Teams returned": 10},
                 number_formats={"Score": "0.0", "Rank": "0"}, centred={"Rank", "Movement", "Score"})
    if scores is not None:
        _write_sheet(wb.create_sheet("Scores"), scores_frame(scores, criteria), rag_columns={"RAG"},
                     statuses=criteria.rag.statuses,
                     widths={"Criterion": 34, "Evidence": 60, "Evidence link": 40, "Comment": 40,
                             "Review note": 30, "RAG": 11, "Evidenced": 11, "Unevidenced claim": 12,
                             "Claimed": 16, "Counts as": 16, "Review": 13},
                     wrap={"Evidence", "Comment", "Review note", "Criterion"})
    _about_sheet(wb.create_sheet("About"), criteria, level, round_label, previous_label)
    wb.properties.title = f"KIM league table {round_label or ''}".strip()
    wb.properties.creator = "KIM League"
    buffer = io.BytesIO()
    neutralise_workbook(wb).save(buffer)
    return buffer.getvalue()


def _write_sheet(ws, frame: pd.DataFrame, *, rag_columns: set[str], statuses: StatusSet | None = None,
                 widths: dict[str, float] | None = None,
                 number_formats: dict[str, str] | None = None, wrap: set[str] = frozenset(),
                 centred: set[str] = frozenset()) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    header = _header_styles()
    widths = widths or {}
    number_formats = number_formats or {}
    columns = list(frame.columns)
    for j, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j, value=cell_value(name))
        cell.font = header["HEADER_FONT"]
        cell.fill = header["HEADER_FILL"]
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=cell_value(value))
    last = len(frame) + 1
    for j, name in enumerate(columns, start=1):
        letter = get_column_letter(j)
        if name in widths:
            width = widths[name]
        else:
            sample = [len(str(v)) for v in frame[name].head(1000) if v is not None]
            width = min(max([len(str(name))] + sample) + 2, 50)
        ws.column_dimensions[letter].width = max(width, 6)
        body = ws.iter_rows(min_row=2, max_row=last, min_col=j, max_col=j)
        if name in rag_columns:
            for (cell,) in body:
                style = rag_style(cell.value, statuses)
                if style:
                    cell.fill = PatternFill("solid", fgColor=style.background.lstrip("#"))
                    cell.font = Font(color=style.text.lstrip("#"), bold=True)
                cell.alignment = Alignment(horizontal="center", vertical="top")
        elif name in number_formats or name in wrap or name in centred:
            for (cell,) in body:
                if name in number_formats:
                    cell.number_format = number_formats[name]
                cell.alignment = Alignment(wrap_text=name in wrap, vertical="top",
                                           horizontal="center" if name in centred else None)
    long_headers = any(len(str(c)) > 14 for c in columns)
    ws.row_dimensions[1].height = 48 if long_headers and rag_columns - {"RAG"} else 30
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{last}"
    ws.sheet_view.zoomScale = 90


def _about_sheet(ws, criteria: CriteriaSet, level: str, round_label: str | None,
                 previous_label: str | None) -> None:
    from openpyxl.styles import Alignment, Border, Font
    generated = datetime.now(timezone.utc).strftime("%d %B %Y %H:%M UTC")
    team_rule = ", ".join(f"{s} from {v:g}" for s, v in sorted(criteria.rag.team.items(), key=lambda kv: -kv[1]))
    rows = [("KIM league table", None)]
    if round_label:
        rows += [("Round", round_label),
                 ("Movement compared with", previous_label or "no earlier round")]
    rows += [
        ("Level", level),
        ("Generated", generated),
        ("Team score", f"Weighted mean of the criteria made 0-100; {team_rule}; "
                       f"below that {criteria.rag.levels[0]}."),
        ("No return", "A team that sent no return is shown as 'No return' and is not ranked."),
        ("Evidence rule", "A score above the lowest level counts only with evidence; an "
                          "unevidenced claim counts as the lowest level and is flagged."),
        ("Ranks", "Equal scores share a rank (1, 2, 2, 4)."),
        ("Text from teams", "Text that a spreadsheet could run as a formula starts with an "
                            "apostrophe (') so it shows as text."),
        (None, None),
        ("Criterion", "Weight"),
    ]
    rows += [(c.name, c.weight) for c in criteria]
    for i, (a, b) in enumerate(rows, start=1):
        ws.cell(row=i, column=1, value=cell_value(a))
        ws.cell(row=i, column=2, value=cell_value(b))
        ws.cell(row=i, column=1).font = Font(bold=True)
        ws.cell(row=i, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=i, column=1).alignment = Alignment(vertical="top", wrap_text=True)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    header = len(rows) - len(criteria)
    for cell in ws[header]:
        cell.border = Border(bottom=_header_styles()["THIN"])
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 80


# The registry's entries: each renders a plain data object ---------------------------------

@dataclass(frozen=True)
class LeagueExport:
    """One league table as ``api.league`` gives it, with what the Excel file adds."""

    table: pd.DataFrame
    criteria: CriteriaSet
    level: str = "team"
    scores: pd.DataFrame | None = None          # Excel's "Scores" sheet, when given
    round_label: str | None = None
    previous_label: str | None = None


@dataclass(frozen=True)
class ScoresExport:
    scores: pd.DataFrame
    criteria: CriteriaSet


register(Renderer("league", "csv", "csv", CSV_TYPE, label="CSV",
                  render=lambda e: league_csv(e.table, e.criteria, e.level)))
register(Renderer("league", "json", "json", JSON_TYPE, label="JSON",
                  render=lambda e: league_json(e.table, e.criteria, e.level).encode("utf-8")))
register(Renderer("league", "xlsx", "xlsx", XLSX_TYPE, label="Excel",
                  render=lambda e: league_xlsx(e.table, e.criteria, e.level, e.scores,
                                               round_label=e.round_label,
                                               previous_label=e.previous_label)))
register(Renderer("scores", "csv", "csv", CSV_TYPE, label="CSV",
                  render=lambda e: scores_csv(e.scores, e.criteria)))
register(Renderer("audit", "csv", "csv", CSV_TYPE, label="CSV", render=audit_csv))
register(Renderer("audit", "json", "json", JSON_TYPE, label="JSON", render=audit_json))
register(Renderer("problems", "xlsx", "xlsx", XLSX_TYPE, label="Excel", render=problems_xlsx))
register(Renderer("problems", "csv", "csv", CSV_TYPE, label="CSV", render=problems_csv))
