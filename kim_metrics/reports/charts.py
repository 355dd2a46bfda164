"""Charts for PDF documents, drawn with matplotlib and placed as vector images by fpdf2.

Each chart is a matplotlib figure the size of the box it fills on the page (millimetres in,
millimetres out), saved as SVG with its text kept as text, and placed with fpdf2's
``image``. The SVG's text names DejaVu Sans, the font ``ReportPDF`` embeds under that name,
so a chart's words are real text in the document's own font: they can be searched, copied
and read aloud. On a machine without DejaVu the document uses Helvetica, and so do the
charts. Widths of text are measured with the document's own font, so a number is printed
inside a bar only where it fits as printed.

matplotlib's settings are global to the process; charts are drawn one at a time under a
lock, with the few settings they need, so a page being built in another thread of the
dashboard never sees them.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from kim_metrics.domain.statuses import text_colour
from kim_metrics.reports.pdfstyle import GREY, TEXT, UNICODE_FAMILY, WHITE, ReportPDF

MM_PER_INCH = 25.4
PT_PER_MM = 72 / MM_PER_INCH
GRID = "#DEE0E2"
HIGHLIGHT = "#FFF7BF"

_LOCK = threading.Lock()
_RC = {
    "svg.fonttype": "none",            # text stays text
    "svg.hashsalt": "kim-league",      # the same ids every time, so the same chart is the same bytes
    "font.family": "sans-serif",
    "font.sans-serif": [UNICODE_FAMILY, "Helvetica"],
    "axes.unicode_minus": False,
}
# matplotlib writes font sizes in SVG user units with a "px" suffix, and its user unit is
# one point; fpdf2 reads "px" as 0.75 pt. Sizes written as points are read as they were meant.
_FONT_SIZE_PX = re.compile(rb"font-size: ?([0-9.]+)px")
# matplotlib leaves out a text's fill when it is black, SVG's default; fpdf2 then paints it in
# whatever colour was set last. Black is written out.
_TEXT_WITHOUT_FILL = re.compile(rb'(<text style="(?:(?!fill:)[^"])*)"')


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def _pt(mm: float) -> float:
    return mm * PT_PER_MM


def _figure(w: float, h: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(w / MM_PER_INCH, h / MM_PER_INCH), dpi=72)


def _place(pdf: ReportPDF, fig, x: float, y: float, w: float, h: float) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                "Type": None})
    svg = _FONT_SIZE_PX.sub(rb"font-size: \1pt", buffer.getvalue())
    svg = _TEXT_WITHOUT_FILL.sub(rb'\1; fill: #000000"', svg)
    pdf.image(svg, x=x, y=y, w=w, h=h)


def _width(pdf: ReportPDF, text: str, size: float, bold: bool = False) -> float:
    """How wide ``text`` prints in the document's font, in millimetres."""
    pdf.font(size, bold=bold)
    return pdf.get_string_width(text)


def _legend(fig, entries: Sequence[tuple[str, str, str]], left: float, top: float, size: float = 8):
    """Swatches with names in one row, from (``left``, ``top``) in figure fractions."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=colour, linewidth=_pt(0.8), marker="o", markersize=_pt(1.8),
                      markerfacecolor=colour) if kind == "line" else
               Patch(facecolor=colour, edgecolor="none") for _, colour, kind in entries]
    fig.legend(handles, [name for name, _, _ in entries], loc="upper left",
               bbox_to_anchor=(left, top), ncols=len(entries), frameon=False, fontsize=size,
               labelcolor=TEXT, handlelength=1.2, handleheight=1.2, handletextpad=0.57,
               columnspacing=2.1, borderaxespad=0, borderpad=0)


def column_chart(pdf: ReportPDF, x: float, y: float, w: float, h: float,
                 categories: Sequence[str], stacks: Sequence[Series], *,
                 line: Series | None = None, line_max: float = 100.0,
                 axis_label: str = "", line_label: str = "") -> None:
    """Stacked columns (first series at the bottom) with an optional line on a right axis,
    and a legend underneath, filling the box at (``x``, ``y``), ``w`` by ``h`` mm."""
    n = len(categories)
    if n == 0:
        return
    from matplotlib.ticker import FixedLocator, MaxNLocator

    left, right = 10.0, (12.0 if line else 2.0)
    top_gap, bottom_gap = 6.0, 16.0
    plot_w, plot_h = w - left - right, h - top_gap - bottom_gap
    totals = [sum(float(s.values[i]) for s in stacks) for i in range(n)]
    highest = max(totals) or 1.0
    ticks = [t for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, highest) if t >= 0]
    top = next(t for t in ticks if t >= highest)
    ticks = [t for t in ticks if t <= top]
    bar_w = min(0.58, 22 / (plot_w / n))
    label_size, value_size = 7.5, 7.5

    with _LOCK:
        import matplotlib
        with matplotlib.rc_context(_RC):
            fig = _figure(w, h)
            ax = fig.add_axes((left / w, bottom_gap / h, plot_w / w, plot_h / h))
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_ylim(0, top)
            ax.yaxis.set_major_locator(FixedLocator(ticks))
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}")
            ax.grid(axis="y", color=GRID, linewidth=_pt(0.15))
            ax.set_axisbelow(True)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
            ax.spines["bottom"].set_color(GREY)
            ax.spines["bottom"].set_linewidth(_pt(0.3))
            ax.tick_params(axis="y", length=0, pad=_pt(1.5), labelsize=label_size, labelcolor=GREY)
            ax.tick_params(axis="x", length=0, pad=_pt(1.9), labelsize=8, labelcolor=TEXT)
            ax.set_xticks(range(n), [pdf.t(c) for c in categories])

            bottom = [0.0] * n
            for s in stacks:
                values = [float(v) for v in s.values]
                bars = ax.bar(range(n), values, bar_w, bottom=bottom, color=s.colour, linewidth=0)
                # A number only where its segment is tall enough to hold it.
                labels = [f"{v:g}" if v > 0 and plot_h * v / top >= 3.6 else "" for v in values]
                ax.bar_label(bars, labels=labels, label_type="center", fontsize=value_size,
                             fontweight="bold", color=text_colour(s.colour))
                bottom = [b + v for b, v in zip(bottom, values)]

            if axis_label:
                fig.text(0, 1 - 2 / h, pdf.t(axis_label), fontsize=label_size, color=GREY,
                         va="baseline")
            entries = [(pdf.t(s.name), s.colour, "box") for s in stacks]
            if line:
                twin = ax.twinx()
                twin.set_ylim(0, line_max)
                twin.yaxis.set_major_locator(FixedLocator([line_max * t / top for t in ticks]))
                twin.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}")
                twin.tick_params(axis="y", length=0, pad=_pt(1.5), labelsize=label_size,
                                 labelcolor=GREY)
                for spine in twin.spines.values():
                    spine.set_visible(False)
                points = [(i, float(v)) for i, v in enumerate(line.values)
                          if v is not None and v == v]
                if points:
                    xs, ys = zip(*points)
                    twin.plot(xs, ys, color=line.colour, linewidth=_pt(0.8), marker="o",
                              markersize=_pt(2.6), markerfacecolor=WHITE,
                              markeredgewidth=_pt(0.6), markeredgecolor=line.colour, zorder=3)
                    for px, py in points:
                        twin.annotate(f"{py:.1f}", (px, py), xytext=(0, _pt(3.4)),
                                      textcoords="offset points", ha="center", va="bottom",
                                      fontsize=value_size, fontweight="bold", color=line.colour,
                                      bbox={"boxstyle": "square,pad=0.12", "facecolor": WHITE,
                                            "edgecolor": "none"}, zorder=4)
                if line_label:
                    fig.text(1, 1 - 2 / h, pdf.t(line_label), fontsize=label_size, color=GREY,
                             ha="right", va="baseline")
                entries.append((pdf.t(line.name), line.colour, "line"))
            _legend(fig, entries, left / w, (bottom_gap - 8) / h)
            _place(pdf, fig, x, y, w, h)


def _wrap(pdf: ReportPDF, text: str, width: float, lines: int, size: float, bold: bool) -> str:
    """``text`` in at most ``lines`` lines of ``width`` mm, cut with an ellipsis if longer."""
    pdf.font(size, bold=bold)
    text = pdf.t(text)
    if pdf.get_string_width(text) <= width:
        return text
    ellipsis = "…" if pdf.unicode else "..."
    wrapped = pdf.multi_cell(width, 3.4, text, dry_run=True, output="LINES")
    if len(wrapped) > lines:
        last = wrapped[lines - 1]
        while pdf.get_string_width(last + ellipsis) > width and len(last) > 1:
            last = last[:-1]
        wrapped = wrapped[:lines - 1] + [last.rstrip() + ellipsis]
    return "\n".join(wrapped)


def bar_rows(pdf: ReportPDF, x: float, y: float, w: float, labels: Sequence[str],
             stacks: Sequence[Series], *, row_h: float = 7.0, label_w: float = 60.0,
             right_text: Sequence[str] | None = None, right_w: float = 16.0,
             highlight: int | None = None, normalise: bool = True, legend: bool = True) -> float:
    """Horizontal stacked bars, one row per label, with a legend below; the y below it all.

    With ``normalise`` each row fills the width (shares); otherwise rows share the scale of
    the largest total. Segment values are printed where they fit.
    """
    n = len(labels)
    legend_h = 6.5 if legend else 0.0
    h = n * row_h + legend_h
    pad = 1.0                           # the highlight reaches 1 mm past the text on each side
    fig_w = w + 2 * pad
    if n == 0:
        return y
    if y + h + 1.5 > pdf.page_break_trigger:
        pdf.add_page()
        y = pdf.get_y()
    totals = [sum(float(s.values[i]) for s in stacks) for i in range(n)]
    scale_top = max(totals) if max(totals) > 0 else 1.0
    bar_x = label_w
    bar_w = w - label_w - (right_w if right_text else 0)
    bars_h = n * row_h
    bar_fraction = (row_h - 2) / row_h
    label_size, value_size = 8, 7
    two_lines = row_h - 1.2 >= 2 * 3.4 + 0.5

    with _LOCK:
        import matplotlib
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import blended_transform_factory
        with matplotlib.rc_context(_RC):
            fig = _figure(fig_w, h)
            ax = fig.add_axes(((pad + bar_x) / fig_w, legend_h / h, bar_w / fig_w, bars_h / h))
            ax.set_xlim(0, 1)
            # Row i is centred on i, 0.6 mm above the middle of its band (room under the bar),
            # first row on top.
            ax.set_ylim(n - 0.5 + 0.6 / row_h, -0.5 + 0.6 / row_h)
            ax.axis("off")
            across = blended_transform_factory(fig.transFigure, ax.transData)
            if highlight is not None:
                ax.add_patch(Rectangle((0, highlight - 0.5), 1, 1,
                                       transform=across, facecolor=HIGHLIGHT, edgecolor="none",
                                       clip_on=False, zorder=0))
            lefts = [0.0] * n
            for s in stacks:
                values = [float(v) for v in s.values]
                # Each segment as a share of the axis: of its row, or of the largest row.
                shares = [v / (totals[i] if normalise else scale_top) if totals[i] > 0 else 0.0
                          for i, v in enumerate(values)]
                ax.barh(range(n), shares, bar_fraction, left=lefts, color=s.colour, linewidth=0,
                        zorder=2)
                for i, (v, share) in enumerate(zip(values, shares)):
                    text = f"{v:g}"
                    if v > 0 and _width(pdf, text, value_size, bold=True) + 1.5 < share * bar_w:
                        ax.text(lefts[i] + share / 2, i, text, ha="center", va="center_baseline",
                                fontsize=value_size, fontweight="bold", color=text_colour(s.colour),
                                zorder=3)
                lefts = [a + b for a, b in zip(lefts, shares)]
            for i, label in enumerate(labels):
                bold = highlight == i
                ax.text(pad / fig_w, i, _wrap(pdf, label, label_w - 2, 2 if two_lines else 1, label_size, bold),
                        transform=across, ha="left", va="center", fontsize=label_size,
                        fontweight="bold" if bold else "normal", color=TEXT,
                        linespacing=1.2, zorder=3)
                if right_text:
                    ax.text((pad + w) / fig_w, i, pdf.t(right_text[i]), transform=across, ha="right",
                            va="center_baseline", fontsize=label_size, fontweight="bold",
                            color=TEXT, zorder=3)
            if legend:
                _legend(fig, [(pdf.t(s.name), s.colour, "box") for s in stacks],
                        (pad + bar_x) / fig_w, (legend_h - 1.5) / h)
            _place(pdf, fig, x - pad, y, fig_w, h)
    return y + h
