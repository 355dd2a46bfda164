"""Where each sheet of a zip-based workbook ends, read from its XML before calamine opens it.

The extent is the last row and column holding a value, as calamine will place them: it sizes
the grid calamine builds. ``limits`` judges the numbers; ``archive`` finds the parts.
"""

from __future__ import annotations

import io
import re

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from kim_metrics.domain.errors import ProblemCode, ReadError
from kim_metrics.reading.limits import DAMAGED, RESAVE, SHRINK, Limits, check_extent

# --- .xlsx and .xlsm -----------------------------------------------------------------------
#
# Calamine places a cell by its own reference (r="B7"); only a cell without one takes its
# position from its row and the cell before, so the size of a sheet is set by its cell
# references. Excel, LibreOffice, openpyxl and every other program seen write each cell tag as
# <c r="B7" ...>, unprefixed, and rows in order. So the last cells of the part give a
# candidate extent, and one scan checks that no cell with a value lies outside it (and that
# every cell tag carries such a reference). A cell holds no value when its tag closes itself
# (<c r="XFD9" s="1"/>): formatting far away does not count, for calamine ignores it.

_PREFIXED_CELL_TAG = re.compile(rb':c[\s>/]')
_VALUED = rb'"(?:[^>]*[^>/\s])?\s*>'    # the rest of a tag that does not close itself
_VALUED_CELL = re.compile(rb'<c r="([A-Za-z]{1,3})0*([1-9]\d{0,8})' + _VALUED)
_TAIL = 64 * 1024
# Each pass past a cell outside the candidate widens it from the cells just after; a part
# whose cells keep leaving it is walked tag by tag instead.
_MAX_WIDENINGS = 32
# Anything else is walked tag by tag: slower, exact, and not fooled by quoting or prefixes.
_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])\s*([A-Za-z]*)(\d*)\s*\1""")


def quick_xlsx_extent(part: bytes) -> tuple[int, int] | None:
    """At least the extent of a worksheet part, from one scan: the common sheet's columns
    exactly, its rows rounded up to the next power of ten less one. None when the part must be
    measured exactly (``xlsx_sheet_extent``)."""
    rows = columns = 0
    for match in _VALUED_CELL.finditer(part, max(0, len(part) - _TAIL)):
        rows, columns = max(rows, int(match.group(2))), max(columns, _column_number(match.group(1)))
    if not 0 < columns <= 26 or _PREFIXED_CELL_TAG.search(part):
        return None
    letter, digits = _column_letters(columns), len(str(rows))
    box = re.compile(rb'<c(?! r="[A-%s' % letter.encode() + b'a-%s]' % letter.lower().encode()
                     + rb'\d{1,%d}")[\s>/]' % digits)
    return None if box.search(part) else (10 ** digits - 1, columns)


def xlsx_sheet_extent(part: bytes, sheet: str, file_name: str, limits: Limits) -> tuple[int, int]:
    """The last row and column holding a value (1-based) of a worksheet part; (0, 0) if none."""
    if not _PREFIXED_CELL_TAG.search(part):
        found = _referenced_extent(part)
        if found is not None:
            return found
    # Walking costs time per tag: a sheet with twice as many cell tags as the cells it may have
    # (empty formatted cells included) is refused without it.
    if part.count(b"<c") > 2 * limits.cells_per_sheet:
        raise ReadError(file_name, f"This sheet holds more than {limits.cells_per_sheet:,} cells, the "
                                   "most a sheet may have. " + SHRINK, sheet=sheet,
                                   code=ProblemCode.TOO_LARGE)
    return _walked_extent(part)


def _referenced_extent(part: bytes) -> tuple[int, int] | None:
    """The extent when every cell tag is written <c r="B7"; None when the part must be walked."""
    rows = columns = 0
    for match in _VALUED_CELL.finditer(part, max(0, len(part) - _TAIL)):
        rows, columns = max(rows, int(match.group(2))), max(columns, _column_number(match.group(1)))
    pos = 0
    for _ in range(_MAX_WIDENINGS):
        outside = _outside(rows, columns).search(part, pos)
        if outside is None:
            return rows, columns
        if outside.group(1) is None:
            return None   # a cell tag written some other way
        # Widen to this cell and those just after it, then look on from here.
        for match in _VALUED_CELL.finditer(part, outside.start(), outside.start() + _TAIL):
            rows, columns = max(rows, int(match.group(2))), max(columns, _column_number(match.group(1)))
        pos = outside.start()
    return None


def _outside(rows: int, columns: int) -> re.Pattern[bytes]:
    """Finds a cell tag without a plain reference, or a cell with a value beyond the extent.

    Group 1 is set only for the second kind.
    """
    inside = (_at_most_letters(_column_letters(columns)) + rb"0*" + _at_most_number(rows)
              if rows and columns else rb"(?!)")
    return re.compile(rb'<c(?:(?! r="[A-Za-z]+\d+")[\s>/]| r="(?!' + inside + rb'")([A-Za-z]+)\d+'
                      + _VALUED + rb")")


def _at_most_number(n: int) -> bytes:
    """A regex for the decimal numbers from 1 to ``n``, without leading zeros."""
    s = str(n)
    alternatives = [rb"[1-9]\d{0,%d}" % (len(s) - 2)] if len(s) > 1 else []   # fewer digits
    for i, ch in enumerate(s):                       # as many digits, smaller at place i
        low = 1 if i == 0 else 0
        if int(ch) > low:
            alternatives.append(s[:i].encode() + b"[%d-%d]" % (low, int(ch) - 1) + rb"\d{%d}" % (len(s) - i - 1))
    alternatives.append(s.encode())
    return b"(?:" + b"|".join(alternatives) + b")"


def _at_most_letters(letters: str) -> bytes:
    """A regex for the column letters (either case) from A to ``letters``."""
    def either(ch: str) -> bytes:
        return b"[%s%s]" % (ch.encode(), ch.lower().encode())
    alternatives = [rb"[A-Za-z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, ch in enumerate(letters):
        if ch > "A":
            below = chr(ord(ch) - 1)
            alternatives.append(b"".join(map(either, letters[:i]))
                                + b"[A-%s" % below.encode() + b"a-%s]" % below.lower().encode()
                                + rb"[A-Za-z]{%d}" % (len(letters) - i - 1))
    alternatives.append(b"".join(map(either, letters)))
    return b"(?:" + b"|".join(alternatives) + b")"


def _walked_extent(part: bytes) -> tuple[int, int]:
    """The last row and column holding a value, as calamine will place them (1-based)."""
    row = col = max_row = max_col = 0
    for match in _SHEET_TAG.finditer(part):
        tag, attrs = match.group(1), match.group(2)
        ref = _R_ATTR.search(attrs)
        letters, digits = (ref.group(2), ref.group(3)) if ref else (b"", b"")
        if tag == b"row":
            row = int(digits) if digits else row + 1
            col = 0
            continue
        if digits:
            row = int(digits)
        col = _column_number(letters) if letters else col + 1
        if not attrs.rstrip().endswith(b"/"):  # <c .../> holds no value and extends nothing
            max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max_col


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper()[:8]:  # eight letters is already beyond any real sheet
        n = n * 26 + ch - 64
    return n


def _column_letters(n: int) -> str:
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- .ods ----------------------------------------------------------------------------------

_TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE_NS = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_CELLS = (_TABLE_NS + "table-cell", _TABLE_NS + "covered-table-cell")


def ods_extents(part: bytes, file_name: str, limits: Limits) -> list[tuple[str, int, int]]:
    """Every sheet of an ODS content.xml with its extent, adding up "repeated" counts as calamine
    expands them. A sheet is refused as soon as it passes a limit."""
    stack: list = []
    sheets: list[tuple[str, int, int]] = []
    table = ""
    row_pos = col_pos = valued_to = max_row = max_col = 0
    try:
        for event, elem in iterparse(io.BytesIO(part), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if elem.tag == _TABLE_NS + "table":
                    table = elem.get(_TABLE_NS + "name") or "a sheet"
                    row_pos = max_row = max_col = 0
                elif elem.tag == _TABLE_NS + "table-row":
                    col_pos = valued_to = 0
                stack.append(elem)
                continue
            stack.pop()
            if elem.tag in _ODS_CELLS:
                col_pos += _repeat(elem.get(_TABLE_NS + "number-columns-repeated"))
                if elem.get(_OFFICE_NS + "value-type") is not None or len(elem):
                    valued_to = col_pos
            elif elem.tag == _TABLE_NS + "table-row":
                row_pos += _repeat(elem.get(_TABLE_NS + "number-rows-repeated"))
                if valued_to:
                    max_row, max_col = row_pos, max(max_col, valued_to)
                    check_extent(file_name, table, max_row, max_col, limits)
            elif elem.tag == _TABLE_NS + "table":
                sheets.append((table, max_row, max_col))
            if stack and elem.tag in (*_ODS_CELLS, _TABLE_NS + "table-row", _TABLE_NS + "table"):
                stack[-1].remove(elem)  # keep memory flat however many rows there are
    except DefusedXmlException as exc:
        raise hostile_xml(file_name, "content.xml") from exc
    except (ParseError, ValueError) as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc
    return sheets


def _repeat(value: str | None) -> int:
    return int(value) if value else 1


def hostile_xml(file_name: str, part_name: str) -> ReadError:
    return ReadError(file_name, f"Part '{part_name}' of this file declares XML entities or a document "
                                "type, which spreadsheet programs never write and which can be used "
                                "to attack a server, so the file was not opened. " + RESAVE,
                                code=ProblemCode.UNSAFE_CONTENT)
