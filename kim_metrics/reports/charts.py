"""Static drawing for PDF documents: the house style, fonts, RAG cells, tables and charts.

Letters and the board pack share this module so they look alike. Charts are drawn with
fpdf2's own primitives (rectangles, lines, text), so no plotting library is needed.

Fonts: DejaVu Sans (Debian's ``fonts-dejavu-core``) when it is on the machine, so every
character prints, arrows included; otherwise the PDF core font Helvetica, with the few
characters it lacks spelt out (``▲ 3`` becomes ``up 3``). Set ``KIM_PDF_FONT_DIR`` to a
folder holding ``DejaVuSans.ttf`` and ``DejaVuSans-Bold.ttf`` to use fonts from elsewhere.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from kim_metrics.domain.statuses import StatusSet, rag_style, text_colour

# GOV.UK colours: text, secondary text, borders, light fill, brand blue.
TEXT = "#0B0C0C"
GREY = "#505A5F"
RULE = "#B1B4B6"
LIGHT = "#F3F2F1"
BLUE = "#1D70B8"
WHITE = "#FFFFFF"

FONT_DIR_ENV = "KIM_PDF_FONT_DIR"
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),      # Debian, Ubuntu: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu"),                # Fedora, Arch
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"

# What the core font cannot print, spelt out.
_PLAIN = {"▲": "up", "▼": "down", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "→": "->",
          "●": "*", "○": "o", "◑": "o", "◔": "o", "◕": "o", "•": "-", "…": "...",
          "‘": "'", "’": "'", "“": '"', "”": '"', "×": "x", "·": "-"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unicode_fonts() -> tuple[Path, Path] | None:
    """The regular and bold DejaVu Sans files, or None when the machine has none."""
    extra = os.environ.get(FONT_DIR_ENV)
    for folder in ([Path(extra)] if extra else []) + list(FONT_DIRS):
        regular, bold = folder / REGULAR, folder / BOLD
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def long_date(day: date) -> str:
    """25 November 2026, as GOV.UK writes dates."""
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


class ReportPDF(FPDF):
    """An A4 document in the house style: protective marking, running title, page numbers."""

    statuses: StatusSet | None = None   # the round's status set, for status colours

    def __init__(self, *, title: str, running_title: str, footer_text: str,
                 marking: str = "OFFICIAL", landscape: bool = False) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.running_title = running_title
        self.footer_text = footer_text
        self.marking = marking
        fonts = unicode_fonts()
        self.unicode = fonts is not None
        if fonts:
            self.add_font("DejaVu", "", str(fonts[0]))
            self.add_font("DejaVu", "B", str(fonts[1]))
            self.family = "DejaVu"
        else:
            self.family = "Helvetica"
        self.set_margins(18, 24, 18)
        self.set_auto_page_break(True, margin=20)
        self.set_title(title)
        self.set_author("Knowledge and Information Management team")
        self.set_creator("KIM League")
        self.set_lang("en-GB")
        self.alias_nb_pages()
        self.set_text_color(TEXT)
        self.set_draw_color(RULE)

    # Text ------------------------------------------------------------------------------

    def t(self, value: object) -> str:
        """Text the current font can print: control characters become spaces."""
        text = "" if value is None else str(value)
        text = _CONTROL.sub(" ", text)
        if self.unicode:
            return text
        for char, plain in _PLAIN.items():
            text = text.replace(char, plain)
        text = unicodedata.normalize("NFKD", text)
        return text.encode("latin-1", "ignore").decode("latin-1")

    def font(self, size: float, bold: bool = False, colour: str = TEXT) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(colour)

    @property
    def width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def header(self) -> None:
        self.font(8, bold=True)
        self.set_xy(self.l_margin, 8)
        self.cell(self.width, 4, self.marking, align="C")
        self.font(8, colour=GREY)
        self.set_xy(self.l_margin, 13)
        self.cell(self.width, 4, self.t(self.running_title), align="L")
        self.set_draw_color(RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, 18.5, self.w - self.r_margin, 18.5)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.get_y() - 1.5, self.w - self.r_margin, self.get_y() - 1.5)
        self.font(8, colour=GREY)
        self.cell(self.width * 0.75, 4, self.t(self.footer_text), align="L")
        self.cell(self.width * 0.25, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_xy(self.l_margin, self.h - 8)
        self.font(8, bold=True)
        self.cell(self.width, 4, self.marking, align="C")

    def title_block(self, title: str, subtitle: str = "") -> None:
        self.font(20, bold=True)
        self.multi_cell(self.width, 9, self.t(title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.ln(1)
            self.font(11, colour=GREY)
            self.multi_cell(self.width, 5.5, self.t(subtitle), align="L",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def heading(self, text: str, size: float = 13) -> None:
        if self.get_y() > self.h - 45:
            self.add_page()
        self.ln(2)
        self.font(size, bold=True)
        self.multi_cell(self.width, size * 0.5, self.t(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def para(self, text: str, size: float = 10.5, colour: str = TEXT, bold: bool = False,
             gap: float = 2.5) -> None:
        self.font(size, bold=bold, colour=colour)
        self.multi_cell(self.width, size * 0.5, self.t(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(gap)

    def bullet(self, text: str, size: float = 10.5, title: str = "") -> None:
        """A bulleted point; ``title`` (bold, its own line) is optional."""
        indent = 5
        x = self.l_margin
        if self.get_y() > self.h - 30:
            self.add_page()
        self.font(size)
        self.set_x(x)
        self.cell(indent, size * 0.5, self.t("•") if self.unicode else "-")
        if title:
            self.font(size, bold=True)
            self.multi_cell(self.width - indent, size * 0.5, self.t(title), align="L",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_x(x + indent)
            self.font(size)
        self.multi_cell(self.width - indent, size * 0.5, self.t(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.2)

    # Tables ----------------------------------------------------------------------------

    def rag_table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                  widths: Sequence[float], align: Sequence[str] | None = None,
                  rag_columns: Sequence[int] = (), size: float = 9,
                  bold_first: bool = False) -> None:
        """A table whose ``rag_columns`` cells are filled with their status colour.

        Cells carry their words as well as colours. ``widths`` are relative.
        """
        align = align or ["L"] * len(headers)
        heading = FontFace(family=self.family, emphasis="BOLD", color=WHITE, fill_color=TEXT,
                           size_pt=size)
        self.font(size)
        self.set_draw_color(RULE)
        self.set_line_width(0.2)
        self.set_fill_color(WHITE)
        with self.table(col_widths=tuple(widths), width=self.width, align="LEFT",
                        text_align=tuple(align), headings_style=heading,
                        line_height=size * 0.5, padding=(1.2, 1.6, 1.2, 1.6),
                        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                        cell_fill_color=LIGHT, cell_fill_mode="ROWS",
                        first_row_as_headings=True, repeat_headings=1) as table:
            head = table.row()
            for h in headers:
                head.cell(self.t(h))
            for row in rows:
                line = table.row()
                for j, value in enumerate(row):
                    text = self.t(value)
                    style = None
                    if j in rag_columns:
                        rs = rag_style(value, self.statuses)
                        if rs:
                            style = FontFace(family=self.family, emphasis="BOLD", color=rs.text,
                                             fill_color=rs.background, size_pt=size)
                    elif bold_first and j == 0:
                        style = FontFace(family=self.family, emphasis="BOLD", size_pt=size)
                    line.cell(text, style=style)
        self.ln(3)

    def rag_badge(self, x: float, y: float, w: float, h: float, status: str, text: str | None = None,
                  size: float = 9) -> None:
        style = rag_style(status, self.statuses)
        background, colour = (style.background, style.text) if style else (LIGHT, TEXT)
        self.set_fill_color(background)
        self.rect(x, y, w, h, style="F")
        self.font(size, bold=True, colour=colour)
        self.set_xy(x, y)
        self.cell(w, h, self.t(text if text is not None else status), align="C")
        self.set_text_color(TEXT)

    def tiles(self, items: Sequence[tuple[str, str, str | None]], height: float = 22) -> None:
        """A row of headline figures: (big figure, caption, status colour or None)."""
        gap = 3
        n = len(items)
        w = (self.width - gap * (n - 1)) / n
        y = self.get_y()
        for i, (figure, caption, status) in enumerate(items):
            x = self.l_margin + i * (w + gap)
            style = rag_style(status, self.statuses) if status else None
            fill, colour = (style.background, style.text) if style else (LIGHT, TEXT)
            self.set_fill_color(fill)
            self.rect(x, y, w, height, style="F")
            self.font(18, bold=True, colour=colour)
            self.set_xy(x + 3, y + 3)
            self.cell(w - 6, 9, self.t(figure), align="L")
            self.font(8.5, colour=colour)
            self.set_xy(x + 3, y + 12.5)
            self.multi_cell(w - 6, 4, self.t(caption), align="L")
        self.set_text_color(TEXT)
        self.set_xy(self.l_margin, y + height + 4)


# Charts ----------------------------------------------------------------------------------

def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 × 10^k) that splits 0..top into about ``ticks`` parts."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def legend(pdf: ReportPDF, x: float, y: float, entries: Sequence[tuple[str, str, str]],
           size: float = 8) -> None:
    """Swatches with names in a row; each entry is (name, colour, "box" | "line")."""
    pdf.font(size, colour=TEXT)
    for name, colour, kind in entries:
        pdf.set_fill_color(colour)
        pdf.set_draw_color(colour)
        if kind == "line":
            pdf.set_line_width(0.8)
            pdf.line(x, y + 1.6, x + 6, y + 1.6)
            pdf.circle(x + 3, y + 1.6, 0.9, style="F")
            x += 8
        else:
            pdf.rect(x, y, 3.4, 3.4, style="F")
            x += 5
        label = pdf.t(name)
        pdf.text(x, y + 2.8, label)
        x += pdf.get_string_width(label) + 6
    pdf.set_line_width(0.2)
    pdf.set_draw_color(RULE)


def column_chart(pdf: ReportPDF, x: float, y: float, w: float, h: float,
                 categories: Sequence[str], stacks: Sequence[Series], *,
                 line: Series | None = None, line_max: float = 100.0,
                 axis_label: str = "", line_label: str = "") -> None:
    """Stacked columns (first series at the bottom) with an optional line on a right axis."""
    n = len(categories)
    if n == 0:
        return
    plot_x, plot_w = x + 10, w - (22 if line else 12)
    plot_y, plot_h = y + 6, h - 22
    totals = [sum(float(s.values[i]) for s in stacks) for i in range(n)]
    step = nice_step(max(totals) if totals else 1)
    top = step * math.ceil((max(totals) or 1) / step)
    base = plot_y + plot_h

    pdf.font(7.5, colour=GREY)
    if axis_label:
        pdf.text(x, y + 2, pdf.t(axis_label))
    if line and line_label:
        label = pdf.t(line_label)
        pdf.text(plot_x + plot_w + 12 - pdf.get_string_width(label), y + 2, label)
    pdf.set_line_width(0.15)
    k = 0.0
    while k <= top + 1e-9:
        gy = base - plot_h * k / top
        pdf.set_draw_color("#DEE0E2")
        pdf.line(plot_x, gy, plot_x + plot_w, gy)
        text = f"{k:g}"
        pdf.text(plot_x - 1.5 - pdf.get_string_width(text), gy + 1, text)
        if line:
            right = f"{line_max * k / top:.0f}"
            pdf.text(plot_x + plot_w + 1.5, gy + 1, right)
        k += step

    slot = plot_w / n
    bar_w = min(slot * 0.58, 22)
    centres = []
    for i, category in enumerate(categories):
        cx = plot_x + slot * (i + 0.5)
        centres.append(cx)
        bottom = base
        for s in stacks:
            value = float(s.values[i])
            if value <= 0:
                continue
            seg = plot_h * value / top
            pdf.set_fill_color(s.colour)
            pdf.rect(cx - bar_w / 2, bottom - seg, bar_w, seg, style="F")
            if seg >= 3.6:
                pdf.font(7.5, bold=True, colour=text_colour(s.colour))
                text = f"{value:g}"
                pdf.text(cx - pdf.get_string_width(text) / 2, bottom - seg / 2 + 1.3, text)
            bottom -= seg
        pdf.font(8, colour=TEXT)
        label = pdf.t(category)
        pdf.text(cx - pdf.get_string_width(label) / 2, base + 4.5, label)
    pdf.set_draw_color(GREY)
    pdf.set_line_width(0.3)
    pdf.line(plot_x, base, plot_x + plot_w, base)

    if line:
        points = [(cx, base - plot_h * float(v) / line_max) for cx, v in zip(centres, line.values)
                  if v is not None and not math.isnan(float(v))]
        pdf.set_draw_color(line.colour)
        pdf.set_fill_color(line.colour)
        pdf.set_line_width(0.8)
        if len(points) > 1:
            pdf.polyline(points)
        for (px, py), v in zip(points, [v for v in line.values if v is not None and not math.isnan(float(v))]):
            pdf.set_fill_color(WHITE)
            pdf.set_line_width(0.6)
            pdf.circle(px, py, 1.3, style="DF")
            pdf.font(7.5, bold=True, colour=line.colour)
            text = f"{float(v):.1f}"
            tw = pdf.get_string_width(text)
            pdf.set_fill_color(WHITE)
            pdf.rect(px - tw / 2 - 0.8, py - 6.2, tw + 1.6, 3.6, style="F")
            pdf.text(px - tw / 2, py - 3.5, text)
    entries = [(s.name, s.colour, "box") for s in stacks]
    if line:
        entries.append((line.name, line.colour, "line"))
    legend(pdf, plot_x, base + 8, entries)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(RULE)
    pdf.set_text_color(TEXT)


def bar_rows(pdf: ReportPDF, x: float, y: float, w: float, labels: Sequence[str],
             stacks: Sequence[Series], *, row_h: float = 7.0, label_w: float = 60.0,
             right_text: Sequence[str] | None = None, right_w: float = 16.0,
             highlight: int | None = None, normalise: bool = True) -> float:
    """Horizontal stacked bars, one row per label; returns the y below the chart.

    With ``normalise`` each row fills the width (shares); otherwise rows share the scale of
    the largest total. Segment values are printed where they fit.
    """
    n = len(labels)
    if y + n * row_h + 8 > pdf.page_break_trigger:
        pdf.add_page()
        y = pdf.get_y()
    totals = [sum(float(s.values[i]) for s in stacks) for i in range(n)]
    scale_top = max(totals) if totals and max(totals) > 0 else 1.0
    bar_x = x + label_w
    bar_w = w - label_w - (right_w if right_text else 0)
    for i, label in enumerate(labels):
        ry = y + i * row_h
        if highlight == i:
            pdf.set_fill_color("#FFF7BF")
            pdf.rect(x - 1, ry - 0.6, w + 2, row_h, style="F")
        pdf.font(8, bold=highlight == i, colour=TEXT)
        _label(pdf, x, ry, label_w - 2, row_h - 1.2, label)
        total = totals[i] if normalise else scale_top
        cursor = bar_x
        for s in stacks:
            value = float(s.values[i])
            if value <= 0 or total <= 0:
                continue
            seg = bar_w * value / total
            pdf.set_fill_color(s.colour)
            pdf.rect(cursor, ry + 0.4, seg, row_h - 2, style="F")
            number = f"{value:g}"
            pdf.font(7, bold=True)
            if pdf.get_string_width(number) + 1.5 < seg:
                pdf.set_text_color(text_colour(s.colour))
                pdf.text(cursor + seg / 2 - pdf.get_string_width(number) / 2, ry + row_h / 2 + 0.5, number)
            cursor += seg
        if right_text:
            pdf.font(8, bold=True, colour=TEXT)
            text = pdf.t(right_text[i])
            pdf.text(bar_x + bar_w + right_w - pdf.get_string_width(text), ry + row_h / 2 + 0.5, text)
    pdf.set_text_color(TEXT)
    return y + n * row_h


def _label(pdf: ReportPDF, x: float, y: float, w: float, h: float, text: str) -> None:
    """A label in a box: one line, or two when it is long and the box is tall enough."""
    text = pdf.t(text)
    ellipsis = "…" if pdf.unicode else "..."
    line_h = 3.4
    lines = [text]
    if pdf.get_string_width(text) > w:
        lines = pdf.multi_cell(w, line_h, text, dry_run=True, output="LINES")
        keep = 2 if h >= 2 * line_h + 0.5 else 1
        if len(lines) > keep:
            last = lines[keep - 1]
            while pdf.get_string_width(last + ellipsis) > w and len(last) > 1:
                last = last[:-1]
            lines = lines[:keep - 1] + [last.rstrip() + ellipsis]
    top = y + (h - len(lines) * line_h) / 2
    for k, line in enumerate(lines):
        pdf.text(x, top + k * line_h + line_h * 0.75, line)
