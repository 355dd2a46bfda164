"""The progress review, written: one assessment in the shape of the National Archives' IMA
progress reviews, as Word (python-docx) or PDF (fpdf2, in the house style of ``charts``).

Background; then per area the performance rating table (the previous assessment and this
one), the situation at the time, the progress since, the recommendations made so far with
their actions and status, and the KIM league's department-wide standing on the criteria
mapped to the area's sub-areas; then the next steps. The report is first built as blocks
(headings, paragraphs, bullets, tables) that both writers render, so the two formats always
say the same thing. Every word people typed passes through ``safe_text``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill

from kim_metrics.domain.errors import KimError
from kim_metrics.domain.ima import plan as action_rows
from kim_metrics.domain.ima import (CLOSED, ImaRecord, LeagueEvidence, Narrative, next_steps, ACTION_LABELS, ACTION_STATUS_SET, KIND_LABELS, PRIORITY_LABELS,
                                    PROGRESS_REVIEW, Assessment)
from kim_metrics.domain.statuses import KNOWN, StatusSet

from kim_metrics.reading.text_rules import clean_text
from kim_metrics.reports.cells import cell_value, neutralise_workbook, safe_text
from kim_metrics.reports.exports import HEADER_FILL, HEADER_FONT, THIN
from kim_metrics.reports.pdfstyle import LIGHT, RULE, TEXT, WHITE, ReportPDF
from kim_metrics.reports.registry import Renderer, register
from kim_metrics.reports.words import long_date

REPORT_FORMATS = ("docx", "pdf")
AUTHOR = "Knowledge and Information Management team"


# Blocks both writers render ----------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    small: bool = False


@dataclass(frozen=True)
class Bullet:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]                                    # relative
    statuses: dict[int, StatusSet] = field(default_factory=dict)  # column → the set colouring it


Block = Heading | Para | Bullet | Table


@dataclass(frozen=True)
class ReportData:
    record: ImaRecord
    assessment: Assessment
    previous: Assessment | None
    evidence: LeagueEvidence
    written: date

    @property
    def title(self) -> str:
        return f"{self.record.framework.name}: {self.assessment.name}"


def _background(d: ReportData) -> list[Block]:
    fw, this, before = d.record.framework, d.assessment, d.previous
    by = f" by {safe_text(this.assessor)}" if this.assessor else ""
    out: list[Block] = [Para(
        f"The {safe_text(fw.name)} looks at how well the department manages its information, "
        f"against {len(fw.sub_areas)} sub-areas in {len(fw.areas)} areas, each rated on a scale of "
        f"{len(fw.ratings)}: {', '.join(r.name for r in fw.ratings)}.")]
    if before is not None:
        out.append(Para(f"{safe_text(before.name)} ({KIND_LABELS.get(before.kind, before.kind).lower()}) "
                        f"took place in {before.date:%B %Y}. {safe_text(this.name)} "
                        f"({KIND_LABELS.get(this.kind, this.kind).lower()}{by}, {long_date(this.date)}) "
                        + ("assessed the department's progress against its action plan and summarises "
                           f"what has changed since {safe_text(before.name)}."
                           if this.kind == PROGRESS_REVIEW else
                           f"assessed the department again; the tables compare it with "
                           f"{safe_text(before.name)}.")))
    else:
        out.append(Para(f"{safe_text(this.name)} ({KIND_LABELS.get(this.kind, this.kind).lower()}{by}) "
                        f"took place on {long_date(this.date)}. It is the first assessment on record."))
    out.append(Para("Areas where continued attention is required are listed under Next steps. Beside "
                    "each area, the KIM league table's department-wide status on the criteria that "
                    "evidence it shows the trend over the league's rounds."))
    return out


def _recommendations(d: ReportData, area_id: str) -> pd.DataFrame:
    """This area's recommendations made at or before the assessment, with their actions."""
    plan = action_rows(d.record)
    made = {a.name: a.date for a in d.record.assessments}
    upto = plan["assessment"].map(made) <= d.assessment.date
    return plan[(plan["area"] == area_id) & upto]


def _area_blocks(d: ReportData, number: int, area) -> list[Block]:
    fw, this, before = d.record.framework, d.assessment, d.previous
    out: list[Block] = [Heading(f"{number}  {area.name}")]
    rated_now = d.record.ratings.get(this.name, {})
    rated_before = d.record.ratings.get(before.name, {}) if before else {}
    headers = ("Sub-area", *((before.name,) if before else ()), this.name)
    rows = tuple((s.name, *((fw.rating_name(rated_before.get(s.id)) or "Not rated",) if before else ()),
                  fw.rating_name(rated_now.get(s.id)) or "Not rated") for s in area.sub_area)
    out.append(Heading("Performance rating", 2))
    out.append(Table(tuple(safe_text(h) for h in headers), rows,
                     (40, 30, 30) if before else (50, 50),
                     {i: fw.statuses for i in range(1, len(headers))}))

    now = d.record.narratives.get(this.name, {}).get(area.id, Narrative())
    then = d.record.narratives.get(before.name, {}).get(area.id, Narrative()) if before else Narrative()
    situation = now.situation or then.situation
    at = before.name if (before and not now.situation and then.situation) else this.name
    if situation:
        out.append(Heading(f"Situation at the time of {safe_text(at)}", 2))
        out.append(Para(safe_text(situation)))
    if now.progress:
        out.append(Heading(f"Progress since {safe_text(before.name) if before else 'the assessment'}", 2))
        out.append(Para(safe_text(now.progress)))

    recs = _recommendations(d, area.id)
    if len(recs):
        out.append(Heading("Recommendations and actions", 2))
        for _rid, group in recs.groupby("recommendation_id", sort=False):
            first = group.iloc[0]
            notes = [f"made at {safe_text(first['assessment'])}"]
            if first["repeated_at"]:
                notes.append(f"repeated at {safe_text(first['repeated_at'])}")
            if first["priority"]:
                notes.append(f"{PRIORITY_LABELS.get(first['priority'], first['priority']).lower()} priority")
            if first["sub_area_name"]:
                notes.insert(0, safe_text(first["sub_area_name"]))
            if first["next_step"] and first["open"]:
                notes.append("a next step")
            out.append(Para(safe_text(first["recommendation"]), bold=True))
            said = "; ".join(notes)
            out.append(Para(said[:1].upper() + said[1:] + ".", small=True))
            acts = group[group["action_id"].notna()]
            if len(acts):
                out.append(Table(("Action", "Owner", "Due", "Status", "Commentary"), tuple(
                    (safe_text(r.action), safe_text(r.owner),
                     f"{r.due:%d %b %Y}" if isinstance(r.due, date) else "",
                     ACTION_LABELS.get(r.status, r.status),
                     safe_text(_commentary(r))) for r in acts.itertuples(index=False)),
                    (31, 21, 12, 14, 32), {3: ACTION_STATUS_SET}))
            else:
                out.append(Para("No actions agreed yet.", small=True))

    evidence = [(s, d.evidence.summary(s.id)) for s in area.sub_area]
    evidence = [(s, e) for s, e in evidence if len(e)]
    out.append(Heading("Evidence from the KIM league table", 2))
    if evidence:
        rounds = d.evidence.rounds
        span = f"{rounds[0]} to {rounds[-1]}" if len(rounds) > 1 else (rounds[0] if rounds else "")
        out.append(Para(f"The department's status on the league criteria mapped to this area, in its "
                        f"latest round, and the department mean (0-100) round by round, {span}.",
                        small=True))
        rows = []
        for sub, frame in evidence:
            for r in frame.itertuples(index=False):
                rows.append((sub.name, safe_text(r.criterion), r.status or "No return", r.trend or "",
                             r.history or ""))
        out.append(Table(("Sub-area", "Criterion", "Status", "Trend", "By round"), tuple(rows),
                         (27, 31, 12, 12, 18), {2: KNOWN}))
    else:
        out.append(Para("No league criteria evidence this area's sub-areas yet. Name the sub-area "
                        "in a criterion's ima field in criteria.toml to show the league's trend here.",
                        small=True))
    return out


def _commentary(r) -> str:
    text = r.commentary or ""
    if isinstance(r.closed_by, str) and r.closed_by:
        when = f" on {r.closed_at:%d %b %Y}" if isinstance(r.closed_at, date) else ""
        text = (text + " " if text else "") + f"Closure signed off by {r.closed_by}{when}."
    return text


def report_blocks(d: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading("Background"), *_background(d)]
    blocks.append(Heading("Progress to address recommendations and risk areas"
                          if d.assessment.kind == PROGRESS_REVIEW else "Findings and recommendations"))
    for number, area in enumerate(d.record.framework.areas, start=1):
        blocks += _area_blocks(d, number, area)
    blocks.append(Heading("Next steps"))
    steps = next_steps(d.record)
    if len(steps):
        blocks.append(Para("The KIM team will keep working with the department's teams and with "
                           f"{safe_text(d.record.framework.assessor)}. Outstanding recommendations will "
                           "be reviewed at the next reassessment. The department should focus on:"))
        blocks += [Bullet(safe_text(r.recommendation)) for r in steps.itertuples(index=False)]
    else:
        blocks.append(Para("No open recommendation is flagged as a next step."))
    return blocks


# Word ----------------------------------------------------------------------------------------

def report_docx(d: ReportData) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 20), ("Heading 1", 14), ("Heading 2", 11.5)):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0x0B, 0x0C, 0x0C)
        style.paragraph_format.space_before = Pt(0 if name == "Title" else 12)
        style.paragraph_format.space_after = Pt(4)
    doc.core_properties.title = clean_text(d.title)
    doc.core_properties.author = AUTHOR
    for part in (section.header, section.footer):
        p = part.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run("OFFICIAL")
        run.bold = True
        run.font.size = Pt(9)

    doc.add_paragraph(clean_text(d.title), style="Title")
    sub = doc.add_paragraph()
    run = sub.add_run(clean_text(f"{d.assessment.kind_label}, {long_date(d.assessment.date)}. "
                                 f"Written {long_date(d.written)}."))
    run.font.color.rgb = RGBColor(0x50, 0x5A, 0x5F)
    for block in report_blocks(d):
        if isinstance(block, Heading):
            doc.add_paragraph(clean_text(block.text), style=f"Heading {block.level}")
        elif isinstance(block, Para):
            p = doc.add_paragraph()
            run = p.add_run(clean_text(block.text))
            run.bold = block.bold
            if block.small:
                run.font.size = Pt(9.5)
                run.font.color.rgb = RGBColor(0x50, 0x5A, 0x5F)
        elif isinstance(block, Bullet):
            doc.add_paragraph(clean_text(block.text), style="List Bullet")
        else:
            table = doc.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            total = sum(block.widths)
            widths = [Cm((21.0 - 4.4) * w / total) for w in block.widths]
            for column, width in zip(table.columns, widths):
                column.width = width
            _docx_row(table.rows[0], block.headers, widths, header=True)
            _repeat_header(table.rows[0])
            for values in block.rows:
                _docx_row(table.add_row(), values, widths, statuses=block.statuses)
            doc.add_paragraph().paragraph_format.space_after = Pt(0)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_row(row, values, widths, *, header: bool = False, statuses: dict | None = None) -> None:
    from docx.shared import Pt, RGBColor

    for j, (cell, value) in enumerate(zip(row.cells, values)):
        cell.width = widths[j]
        p = cell.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(clean_text(str(value)))
        run.font.size = Pt(9.5)
        if header:
            run.bold = True
            run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            _shade(cell, TEXT.lstrip("#"))
            continue
        style = statuses[j].style(value) if statuses and j in statuses else None
        if style:
            _shade(cell, style.background.lstrip("#"))
            run.bold = True
            run.font.color.rgb = RGBColor.from_string(style.text.lstrip("#"))


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


# PDF -----------------------------------------------------------------------------------------

def _pdf_table(pdf: ReportPDF, block: Table, size: float = 8.8) -> None:
    """``ReportPDF.rag_table``'s look, with cells coloured by their own status set."""
    heading = FontFace(family=pdf.family, emphasis="BOLD", color=WHITE, fill_color=TEXT, size_pt=size)
    pdf.font(size)
    pdf.set_draw_color(RULE)
    pdf.set_line_width(0.2)
    with pdf.table(col_widths=block.widths, width=pdf.width, align="LEFT", text_align="LEFT",
                   headings_style=heading,
                   line_height=size * 0.5, padding=(1.2, 1.6, 1.2, 1.6),
                   borders_layout=TableBordersLayout.HORIZONTAL_LINES, cell_fill_color=LIGHT,
                   cell_fill_mode="ROWS", first_row_as_headings=True, repeat_headings=1) as table:
        head = table.row()
        for h in block.headers:
            head.cell(pdf.t(h))
        for values in block.rows:
            line = table.row()
            for j, value in enumerate(values):
                style = block.statuses[j].style(value) if j in block.statuses else None
                face = (FontFace(family=pdf.family, emphasis="BOLD", color=style.text,
                                 fill_color=style.background, size_pt=size) if style else None)
                line.cell(pdf.t(value), style=face)
    pdf.ln(3)


def report_pdf(d: ReportData) -> bytes:
    pdf = ReportPDF(title=d.title, running_title=f"{d.record.framework.name}  |  {d.assessment.name}",
                    footer_text=f"{AUTHOR}, {long_date(d.written)}")
    pdf.add_page()
    pdf.title_block(d.title, f"{d.assessment.kind_label}, {long_date(d.assessment.date)}")
    for block in report_blocks(d):
        if isinstance(block, Heading):
            if block.level == 1 and pdf.get_y() > pdf.h - 90:
                pdf.add_page()   # an area's heading starts where its rating table fits below it
            pdf.heading(block.text, size=14 if block.level == 1 else 11)
        elif isinstance(block, Para):
            pdf.para(block.text, size=8.8 if block.small else 10.5,
                     colour="#505A5F" if block.small else TEXT, bold=block.bold,
                     gap=1 if block.bold else 2.5)
        elif isinstance(block, Bullet):
            pdf.bullet(block.text)
        else:
            if pdf.get_y() > pdf.h - 50:
                pdf.add_page()
            _pdf_table(pdf, block)
    return bytes(pdf.output())


# Entry points ----------------------------------------------------------------------------------

def render_report(d: ReportData, fmt: str = "docx") -> bytes:
    if fmt not in REPORT_FORMATS:
        raise KimError(f"The report can be written as {' or '.join(REPORT_FORMATS)}, not '{fmt}'.")
    return report_docx(d) if fmt == "docx" else report_pdf(d)


# The action plan workbook ----------------------------------------------------------------------

@dataclass(frozen=True)
class ActionPlan:
    record: ImaRecord
    rows: pd.DataFrame           # services.ima.plan's rows
    headers: tuple[str, ...]
    written: date


def action_plan_workbook(plan: ActionPlan) -> bytes:
    """The action plan as the National Archives' published plans lay it out: by area, each
    recommendation over its actions, with owner, due date, status and commentary."""
    rec, frame = plan.record, plan.rows
    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    latest = rec.assessments[-1] if rec.assessments else None
    ws.append([f"{rec.framework.name}: action plan"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Status at {plan.written:%d %B %Y}"
               + (f"; latest assessment {latest.name} ({latest.date:%B %Y})" if latest else "")])
    ws.append([])
    ws.append(list(plan.headers))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    area_fill = PatternFill("solid", fgColor="F3F2F1")
    for area in rec.framework.areas:
        mine = frame[frame["area"] == area.id]
        if mine.empty:
            continue
        ws.append([cell_value(area.name)])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        for col in range(1, len(plan.headers) + 1):
            ws.cell(ws.max_row, col).fill = area_fill
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(plan.headers))
        for _rid, group in mine.groupby("recommendation_id", sort=False):
            first = ws.max_row + 1
            text = group.iloc[0]["recommendation"]
            notes = [f"Made at {group.iloc[0]['assessment']}"]
            if group.iloc[0]["repeated_at"]:
                notes.append(f"repeated at {group.iloc[0]['repeated_at']}")
            if group.iloc[0]["priority"]:
                notes.append(f"priority {group.iloc[0]['priority']}")
            for i, r in enumerate(group.itertuples(index=False)):
                has_action = isinstance(r.action, str)
                status = ACTION_LABELS.get(r.status, "") if has_action else ""
                commentary = r.commentary if has_action else ""
                if has_action and r.status == CLOSED and isinstance(r.closed_by, str):
                    signed = f"Closure signed off by {r.closed_by}"
                    if isinstance(r.closed_at, pd.Timestamp | date):
                        signed += f" on {r.closed_at:%d %B %Y}"
                    commentary = f"{commentary}\n{signed}." if commentary else f"{signed}."
                ws.append([cell_value(f"{text}\n({'; '.join(notes)})") if i == 0 else None,
                           cell_value(r.action) if has_action else "No action agreed yet",
                           cell_value(r.owner) if has_action else None,
                           r.due if has_action and isinstance(r.due, date) else None,
                           status, cell_value(commentary)])
                row = ws.max_row
                for col in range(1, len(plan.headers) + 1):
                    ws.cell(row, col).alignment = wrap
                    ws.cell(row, col).border = border
                ws.cell(row, 4).number_format = "d mmm yyyy"
                style = ACTION_STATUS_SET.style(status)
                if style:
                    ws.cell(row, 5).fill = PatternFill("solid", fgColor=style.background.lstrip("#"))
                    ws.cell(row, 5).font = Font(bold=True, color=style.text.lstrip("#"))
            if ws.max_row > first:
                ws.merge_cells(start_row=first, start_column=1, end_row=ws.max_row, end_column=1)
    for column, width in zip("ABCDEF", (48, 48, 30, 13, 14, 48)):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    buffer = io.BytesIO()
    neutralise_workbook(wb)
    wb.save(buffer)
    return buffer.getvalue()


register(Renderer("ima-report", "docx", "docx",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  report_docx, "Word"))
register(Renderer("ima-report", "pdf", "pdf", "application/pdf", report_pdf, "PDF"))
register(Renderer("ima-plan", "xlsx", "xlsx",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  action_plan_workbook, "Excel"))
