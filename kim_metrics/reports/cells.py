"""What any file the project writes may hold in a cell or a line of text.

Names, evidence and comments are typed by people, so text that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or the
full-width ``＝＋－＠`` that Excel also reads as formula signs) gets a leading apostrophe in
everything a person may open in a spreadsheet or copy into one: Excel, CSV, and the text
of letters and board packs. Only text is touched: numbers, negative ones included, stay
numbers. JSON is for programs and keeps values exactly as stored.

Characters XML cannot hold follow the one rule that applies as files are read
(``reading.text_rules.clean_text``), so a file we write never breaks on text we accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kim_metrics.reading.text_rules import clean_text
from kim_metrics.domain.values import missing

if TYPE_CHECKING:   # openpyxl is imported when a workbook is written, not with this module
    from openpyxl.workbook.workbook import Workbook

__all__ = ["FORMULA_TRIGGERS", "cell_value", "clean_text", "neutralise", "neutralise_workbook",
           "safe_text"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Anything that is not text (numbers, negative ones included, dates, None) is returned
    unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def cell_value(value: object) -> object:
    """A value as a spreadsheet cell takes it: missing as None, numpy numbers as Python ones,
    text cleaned and neutralised."""
    if missing(value):
        return None
    if hasattr(value, "item"):          # numpy and pandas scalars
        value = value.item()
    if isinstance(value, str):
        return neutralise(clean_text(value))
    return value


def safe_text(value: object) -> str:
    """A value as display text for a document: blank for missing, cleaned and neutralised."""
    if isinstance(value, str):
        return str(neutralise(clean_text(value)))
    if missing(value):
        return ""
    return str(neutralise(clean_text(str(value))))


def neutralise_workbook(wb: Workbook, sheets: Iterable[str] | None = None) -> Workbook:
    """Every text cell of an openpyxl workbook cleaned, neutralised and stored as text.

    Run by every writer of a workbook just before it saves, so no cell can be a formula
    whatever a writer put in it: openpyxl turns any string starting with ``=`` into one.
    """
    for ws in (wb[name] for name in sheets) if sheets is not None else wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) or cell.data_type == "f":
                    cell.value = neutralise(clean_text(str(cell.value)))
                    cell.data_type = "s"
    return wb
