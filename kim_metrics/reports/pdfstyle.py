"""The PDF house style: an A4 page with protective marking, fonts, colours, headings, RAG
tables and headline tiles. Letters, the board pack and its charts (``charts``) share it so
they look alike.

Fonts: DejaVu Sans (Debian's ``fonts-dejavu-core``) when it is on the machine, so every
character prints, arrows included; otherwise the PDF core font Helvetica, with the few
characters it lacks spelt out (``▲ 3`` becomes ``up 3``). Set ``KIM_PDF_FONT_DIR`` to a
folder holding ``DejaVuSans.ttf`` and ``DejaVuSans-Bold.ttf`` to use fonts from elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from kim_metrics.domain.statuses import StatusSet, rag_style
from kim_metrics.settings import load_settings

# GOV.UK colours: text, secondary text, borders, light fill, brand blue.
TEXT = "#0B0C0C"
GREY = "#505A5F"
RULE = "#B1B4B6"
LIGHT = "#F3F2F1"
BLUE = "#1D70B8"
WHITE = "#FFFFFF"

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),      # Debian, Ubuntu: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu"),                # Fedora, Arch
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
# Registered under the name matplotlib writes into a chart's SVG, so a chart's text is set in
# the document's own embedded font (fpdf2 falls back to Helvetica for a name it lacks).
UNICODE_FAMILY = "DejaVu Sans"
MARKING = "OFFICIAL"

# What the core font cannot print, spelt out.
_PLAIN = {"▲": "up", "▼": "down", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "→": "->",
          "●": "*", "○": "o", "◑": "o", "◔": "o", "◕": "o", "•": "-", "…": "...",
          "‘": "'", "’": "'", "“": '"', "”": '"', "×": "x", "·": "-"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unicode_fonts() -> tuple[Path, Path] | None:
    """The regular and bold DejaVu Sans files, or None when the machine has none."""
    extra = load_settings().pdf_font_dir
    for folder in ([Path(extra)] if extra else []) + list(FONT_DIRS):
        regular, bold = folder / REGULAR, folder / BOLD
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class ReportPDF(FPDF):
    """An A4 document in the house style: protective marking, running title, page numbers."""

    statuses: StatusSet | None = None   # the round's status set, for status colours

    def __init__(self, *, title: str, running_title: str, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.running_title = running_title
        self.footer_text = footer_text
        self.marking = MARKING
        fonts = unicode_fonts()
        self.unicode = fonts is not None
        if fonts:
            self.add_font(UNICODE_FAMILY, "", str(fonts[0]))
            self.add_font(UNICODE_FAMILY, "B", str(fonts[1]))
            self.family = UNICODE_FAMILY
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

    def bullet(self, text: str, size: float = 10.5) -> None:
        indent = 5
        if self.get_y() > self.h - 30:
            self.add_page()
        self.font(size)
        self.set_x(self.l_margin)
        self.cell(indent, size * 0.5, self.t("•") if self.unicode else "-")
        self.multi_cell(self.width - indent, size * 0.5, self.t(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.2)

    # Tables ----------------------------------------------------------------------------

    def rag_table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                  widths: Sequence[float], align: Sequence[str] | None = None,
                  rag_columns: Sequence[int] = (), size: float = 9) -> None:
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
                    line.cell(text, style=style)
        self.ln(3)

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
