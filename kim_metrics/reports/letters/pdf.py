"""A letter as a PDF in the house style (``reports.pdfstyle``), block for block as in Word."""

from __future__ import annotations

from kim_metrics.reports.letters.data import LetterData
from kim_metrics.reports.letters.wording import (SENDER, Heading, Para, address, dateline,
                                                 letter_blocks, subject)
from kim_metrics.reports.pdfstyle import GREY, TEXT, ReportPDF


def letter_pdf(d: LetterData) -> bytes:
    pdf = ReportPDF(title=subject(d), running_title=f"KIM league table {d.round}  |  {d.directorate}",
                    footer_text=f"{SENDER}, {dateline(d)}")
    pdf.statuses = d.statuses
    pdf.add_page()
    pdf.font(10.5, bold=True)
    pdf.cell(pdf.width, 5, pdf.t(SENDER), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.font(10.5)
    pdf.cell(pdf.width, 5, dateline(d), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for line in address(d):
        pdf.cell(pdf.width, 5, pdf.t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.font(15, bold=True)
    pdf.multi_cell(pdf.width, 7, pdf.t(subject(d)), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for block in letter_blocks(d):
        if isinstance(block, Heading):
            pdf.heading(block.text, size=12.5 if block.level == 1 else 10.5)
        elif isinstance(block, Para):
            pdf.para(block.text, size=8.8 if block.small else 10.5, colour=GREY if block.small else TEXT,
                     bold=block.bold)
        else:
            pdf.rag_table(block.headers, block.rows, widths=block.widths, align=block.align,
                          rag_columns=block.rag_columns, size=8.8)
    return bytes(pdf.output())
