"""League tables as files other tools read: CSV, JSON and Excel.

Everything here is drawn from one round's stored data through ``league_service.league`` and
``score_service.scored_round``, the functions the dashboard uses, so a file never shows a number,
rank or word the dashboard does not.

Evidence, comments and names are typed by teams, so any text a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
apostrophe in every export that a person may open in a spreadsheet or copy into one: CSV,
Excel, and the text of letters and board packs. Only text is touched: numbers, negative ones
included, stay numbers. JSON is for programs and keeps values exactly as stored.
"""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.access import Actor
from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.league import league_records
from kim_metrics.domain.statuses import StatusSet, rag_style

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold (Excel and Word files are XML): dropped, never escaped.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EXPORT_FORMATS = ("csv", "json", "xlsx")

HEADER_FILL = PatternFill("solid", fgColor="0B0C0C")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="B1B4B6")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Anything that is not text (numbers, negative ones included, dates, None) is returned
    unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def clean_text(text: str) -> str:
    """Text without the control characters an Excel or Word file cannot hold."""
    return _XML_ILLEGAL.sub("", text)


def safe_text(value: object) -> str:
    """A value as display text for a document: blank for missing, cleaned and neutralised."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(neutralise(clean_text(str(value))))


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
        out[c.name] = table[f"{c.id}.rag"].where(table[f"{c.id}.percent"].notna(), NO_RETURN)
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


def _csv(frame: pd.DataFrame) -> str:
    return frame.map(lambda v: neutralise(clean_text(v)) if isinstance(v, str) else v).to_csv(index=False)


def league_csv(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> str:
    return _csv(league_frame(table, criteria, level))


def scores_csv(scores: pd.DataFrame, criteria: CriteriaSet) -> str:
    """Every score with its evidence, one row per team × criterion."""
    return _csv(scores_frame(scores, criteria))


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
    wb.save(buffer)
    return buffer.getvalue()


def _write_sheet(ws, frame: pd.DataFrame, *, rag_columns: set[str], statuses: StatusSet | None = None,
                 widths: dict[str, float] | None = None,
                 number_formats: dict[str, str] | None = None, wrap: set[str] = frozenset(),
                 centred: set[str] = frozenset()) -> None:
    widths = widths or {}
    number_formats = number_formats or {}
    columns = list(frame.columns)
    for j, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j, value=_cell(name))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            _set(ws.cell(row=i, column=j), _cell(value))
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
        _set(ws.cell(row=i, column=1), _cell(a))
        _set(ws.cell(row=i, column=2), _cell(b))
        ws.cell(row=i, column=1).font = Font(bold=True)
        ws.cell(row=i, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=i, column=1).alignment = Alignment(vertical="top", wrap_text=True)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    header = len(rows) - len(criteria)
    for cell in ws[header]:
        cell.border = Border(bottom=THIN)
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 80


def _set(cell, value: object) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"   # never a formula, whatever the text


def _cell(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str):
        return neutralise(clean_text(value))
    return value


def export_league(engine: Engine, round_label: str | None = None, level: str = "team",
                  fmt: str = "xlsx", *, actor: Actor) -> bytes:
    """The league table as a file's bytes, for the command line and a download button."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"fmt must be one of {EXPORT_FORMATS}")
    result = league_service.league(engine, round_label, level)
    if fmt == "json":
        return league_json(result.table, result.criteria, level).encode("utf-8")
    if fmt == "csv":
        return league_csv(result.table, result.criteria, level).encode("utf-8")
    # The Scores sheet holds evidence: only the rows the reader may see.
    scores = score_service.scored_round(engine, result.round.label, actor=actor).scores
    return league_xlsx(result.table, result.criteria, level, scores if len(scores) else None,
                       round_label=result.round.label,
                       previous_label=result.previous.label if result.previous else None)


def export_scores_csv(engine: Engine, round_label: str | None = None, *, actor: Actor) -> bytes:
    """Every score of a round with its evidence that ``actor`` may read, as CSV bytes."""
    scored = score_service.scored_round(engine, round_label, actor=actor)
    return scores_csv(scored.scores, scored.criteria).encode("utf-8")
