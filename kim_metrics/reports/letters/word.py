"""A letter as a Word document (python-docx): A4, Arial, OFFICIAL marking, shaded status cells."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from kim_metrics.domain.statuses import StatusSet, rag_style
from kim_metrics.reports.cells import clean_text
from kim_metrics.reports.letters.data import LetterData
from kim_metrics.reports.letters.wording import (SENDER, Heading, Para, address, dateline,
                                                 letter_blocks, subject)

# Word's document properties hold at most 255 characters (python-docx refuses more).
PROPERTY_MAX = 255


def _property(text: str) -> str:
    text = clean_text(text)
    return text if len(text) <= PROPERTY_MAX else text[:PROPERTY_MAX - 1] + "…"


def letter_docx(d: LetterData) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 18), ("Heading 1", 13), ("Heading 2", 11)):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0x0B, 0x0C, 0x0C)
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
    doc.core_properties.title = _property(subject(d))
    doc.core_properties.author = SENDER
    for part in (section.header, section.footer):
        p = part.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run("OFFICIAL")
        run.bold = True
        run.font.size = Pt(9)

    def para(text: str, *, bold: bool = False, size: float | None = None, grey: bool = False,
             align=None, after: float | None = None):
        p = doc.add_paragraph()
        run = p.add_run(clean_text(text))
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        if grey:
            run.font.color.rgb = RGBColor(0x50, 0x5A, 0x5F)
        if align is not None:
            p.alignment = align
        if after is not None:
            p.paragraph_format.space_after = Pt(after)
        return p

    para(SENDER, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT, after=0)
    para(dateline(d), align=WD_ALIGN_PARAGRAPH.RIGHT)
    for i, line in enumerate(address(d)):
        para(line, after=0 if i < len(address(d)) - 1 else 10)
    doc.add_paragraph(clean_text(subject(d)), style="Title")

    for block in letter_blocks(d):
        if isinstance(block, Heading):
            doc.add_paragraph(clean_text(block.text), style="Heading 1" if block.level == 1 else "Heading 2")
        elif isinstance(block, Para):
            para(block.text, bold=block.bold, size=9.5 if block.small else None, grey=block.small)
        else:
            table = doc.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            total = sum(block.widths)
            usable = 21.0 - 4.4
            widths = [Cm(usable * w / total) for w in block.widths]
            for column, width in zip(table.columns, widths):
                column.width = width   # the grid LibreOffice reads; cells carry it for Word
            _table_look(table)
            _docx_row(table.rows[0], block.headers, widths, header=True)
            _repeat_header(table.rows[0])
            for values in block.rows:
                _docx_row(table.add_row(), values, widths, align=block.align,
                          rag_columns=block.rag_columns, statuses=d.statuses)
            doc.add_paragraph().paragraph_format.space_after = Pt(0)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_row(row, values, widths, *, header: bool = False, align=(), rag_columns=(),
              statuses: StatusSet | None = None) -> None:
    aligns = {"L": WD_ALIGN_PARAGRAPH.LEFT, "R": WD_ALIGN_PARAGRAPH.RIGHT, "C": WD_ALIGN_PARAGRAPH.CENTER}
    for j, (cell, value) in enumerate(zip(row.cells, values)):
        cell.width = widths[j]
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = cell.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(clean_text(str(value)))
        run.font.size = Pt(9.5)
        if header:
            run.bold = True
            run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            _shade(cell, "0B0C0C")
            continue
        if j < len(align):
            p.alignment = aligns.get(align[j], WD_ALIGN_PARAGRAPH.LEFT)
        style = rag_style(value, statuses) if j in rag_columns else None
        if style:
            _shade(cell, style.background.lstrip("#"))
            run.bold = True
            run.font.color.rgb = RGBColor.from_string(style.text.lstrip("#"))


def _table_look(table) -> None:
    """Light grey borders and some room inside the cells."""
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single")
        edge.set(qn("w:sz"), "4")
        edge.set(qn("w:color"), "B1B4B6")
        borders.append(edge)
    props.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side, twips in (("top", 45), ("left", 85), ("bottom", 45), ("right", 85)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(twips))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    props.append(margins)


def _shade(cell, fill: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    props.append(shd)


def _repeat_header(row) -> None:
    props = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)
