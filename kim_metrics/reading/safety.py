"""Checks an upload must pass before any parser sees it, and the rule for control characters.

Calamine is Rust, so XML entity tricks (billion laughs, external entities) cannot make it
expand or fetch anything. But it trusts what a file says about its own size. It makes a dense
grid that runs from A1 to the furthest cell with a value, so one value at XFD1048576 means
17 billion cells. When that memory cannot be had, the Rust allocator aborts the whole
process: the dashboard goes down for everyone, and no Python error is raised. Calamine also
expands an ODS cell marked "repeated 16,384 times", and copies a shared string into every
cell that points to it. So a zip-based workbook is decompressed here first, with caps, and
its XML is scanned for the coordinates, repeats and shared strings that set those sizes.
Only then does calamine open it. Any XML this module parses itself goes through defusedxml.

The limits are a small table. Each one can be overridden by an environment variable, so a
department can raise a limit without changing code.
"""

from __future__ import annotations

import io
import math
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring, iterparse

from kim_metrics.domain.errors import KimError, Problem, ReadError


@dataclass(frozen=True)
class Limit:
    key: str
    env: str
    default: int
    what: str  # completes "Set it to the ..." in the message about a bad setting


LIMITS: tuple[Limit, ...] = (
    Limit("upload_mb", "KIM_MAX_UPLOAD_MB", 20, "largest file that may be uploaded, in MB"),
    Limit("rows_per_sheet", "KIM_MAX_ROWS_PER_SHEET", 200_000, "most rows one sheet may have"),
    Limit("cells_per_sheet", "KIM_MAX_CELLS_PER_SHEET", 10_000_000,
          "most cells one sheet may span (rows × columns, blanks included)"),
    Limit("zip_entries", "KIM_MAX_ZIP_ENTRIES", 1_000, "most parts a zip-based workbook may hold"),
    Limit("uncompressed_mb", "KIM_MAX_UNCOMPRESSED_MB", 250,
          "largest size a workbook may unzip to, in MB"),
    Limit("compression_ratio", "KIM_MAX_COMPRESSION_RATIO", 100,
          "most times smaller a part of a workbook may be compressed"),
    Limit("shared_text_mb", "KIM_MAX_SHARED_TEXT_MB", 200,
          "most text, in MB, a workbook's cells may copy from its shared strings"),
    Limit("cell_chars", "KIM_MAX_CELL_CHARS", 32_767,
          "longest text one cell may hold (32,767 is Excel's own limit)"),
)


@dataclass(frozen=True)
class Limits:
    upload_mb: float
    rows_per_sheet: int
    cells_per_sheet: int
    zip_entries: int
    uncompressed_mb: float
    compression_ratio: float
    shared_text_mb: float
    cell_chars: int


def current_limits() -> Limits:
    """The limits in force, read from the environment each time so a change needs no restart."""
    values: dict[str, float] = {}
    for limit in LIMITS:
        raw = os.environ.get(limit.env, "").strip()
        if not raw:
            values[limit.key] = limit.default
            continue
        try:
            value = float(raw.replace(",", "").replace("_", ""))
        except ValueError:
            value = math.nan
        if not (value > 0 and math.isfinite(value)):
            raise KimError(f"The setting {limit.env}={raw!r} is not a positive number. Set it to the "
                           f"{limit.what} (default {limit.default:,}), or unset it.")
        values[limit.key] = value
    ints = {"rows_per_sheet", "cells_per_sheet", "zip_entries", "cell_chars"}
    return Limits(**{k: int(v) if k in ints else v for k, v in values.items()})


# Names are stored in columns of this width (db.Directorate.name, db.Team.name); PostgreSQL
# refuses a longer value, so validation must catch it first.
NAME_MAX_CHARS = 200

_MB = 1024 * 1024
# Small parts (styles, themes) may compress very well and cannot hurt; the ratio limit applies
# to parts bigger than this.
_RATIO_FLOOR = _MB
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
               OverflowError, IndexError)

_DAMAGED = (
    "This file looks damaged or incomplete (it may not have finished saving or downloading). "
    "Open it in Excel or LibreOffice Calc, save it again, and upload the new copy."
)
_RESAVE = ("Open it in Excel or LibreOffice Calc, copy the return into a new workbook, save that "
           "as .xlsx and upload it.")
_SHRINK = ("Delete empty rows and columns after your data (select them, right-click, Delete), "
           "or split the return into several files, then upload again.")


# --- control characters -------------------------------------------------------------------
#
# Text is stored as it was typed, with one exception, applied the same way to every cell of
# every format as the file is read: characters XML 1.0 cannot hold. Those would make the
# Excel and Word exports unreadable, and PostgreSQL refuses NUL outright. None of them can be
# seen or typed in a cell; they come from copy and paste. Vertical tab and form feed are Word's
# manual line and page breaks, so they become line breaks and the words stay apart. The rest
# (C0 controls other than tab, line feed and carriage return, lone surrogates, U+FFFE and
# U+FFFF) are removed. Stripping, not refusing, because the person uploading cannot see what
# to fix.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL_TABLE = {c: None for c in [*range(0x00, 0x09), *range(0x0e, 0x20), 0xfffe, 0xffff,
                                    *range(0xd800, 0xe000)]} | {0x0b: "\n", 0x0c: "\n"}
# What could become such a character once the XML of a zip-based workbook is decoded: the raw
# bytes, a character reference (&#1;) or OOXML's own escape (_x0001_).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20)])
# Separate patterns: a literal start lets the regex engine skip ahead, an alternation does not.
_CHARACTER_REFERENCE = re.compile(rb"&#")
_OOXML_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
# Above this share of control characters a "CSV" is binary data decoded as text.
_BINARY_SHARE = 0.01
_BINARY_SAMPLE = 64 * 1024
_CSV_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` with the characters XML cannot hold removed (see the rule above)."""
    return text.translate(_CONTROL_TABLE) if _CONTROL.search(text) else text


def has_control_chars(text: str) -> bool:
    return _CONTROL.search(text) is not None


def clean_cells(rows: list[list[object]]) -> None:
    """Apply ``clean_text`` to every text cell, in place."""
    for row in rows:
        for i, cell in enumerate(row):
            if cell.__class__ is str and _CONTROL.search(cell):
                row[i] = cell.translate(_CONTROL_TABLE)


def looks_binary(text: str) -> bool:
    """Whether decoded "text" is really binary data: control characters everywhere.

    A stray control character pasted into one cell must not make a whole CSV unreadable;
    random bytes decoded as latin-1 have one in every eight characters or so.
    """
    sample = text[:_BINARY_SAMPLE]
    found = len(_CSV_CONTROL.findall(sample))
    return found > max(2, len(sample) * _BINARY_SHARE)


# --- the upload as a whole -------------------------------------------------------------------

@dataclass(frozen=True)
class Scan:
    """What the checks learnt that the reader can use."""

    # False only when the XML was scanned and nothing in it can decode to a control
    # character, so the reader can skip looking at every cell.
    may_hold_controls: bool = True


def check_upload(data: bytes, file_name: str) -> Scan:
    """Refuse a file that is too big, or a zip-based workbook that would expand beyond the limits.

    Raises ``ReadError`` with a message saying what to do. Formats are told apart by content
    in the reader; this only needs to know whether the file is a zip.
    """
    limits = current_limits()
    if len(data) > limits.upload_mb * _MB:
        raise ReadError(file_name, f"This file is {len(data) / _MB:,.1f} MB; uploads are limited to "
                                   f"{limits.upload_mb:g} MB. Remove other sheets, images and empty "
                                   "formatted rows, or split the return into several files, then "
                                   "upload again.")
    if data.startswith(b"PK\x03\x04"):
        return _check_zip(data, file_name, limits)
    return Scan()


def _check_zip(data: bytes, file_name: str, limits: Limits) -> Scan:
    # The count the archive declares is checked before Python builds an object per part.
    declared = _declared_entries(data)
    if declared is not None and declared > limits.zip_entries:
        raise _too_many_parts(file_name, declared, limits)
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except _ZIP_ERRORS as exc:
        raise ReadError(file_name, _DAMAGED) from exc
    if len(infos) > limits.zip_entries:
        raise _too_many_parts(file_name, len(infos), limits)
    # A damaged directory can declare any sizes; only a consistent one is judged by them.
    parts = [(info, _data_start(data, info, file_name)) for info in infos]
    budget = int(limits.uncompressed_mb * _MB)
    if sum(i.file_size for i in infos) > budget:
        raise _bomb(file_name, limits)
    # The workbook's sheet list and the shared strings come first, so sheets can be named in
    # messages and the cells that point into the shared strings can be measured.
    parts.sort(key=lambda p: _PART_ORDER.get(p[0].filename.lower().rsplit("/", 1)[-1], 2))
    shared = _SharedStrings(limits)
    sheet_names = _SheetNames()
    may_hold_controls = False
    used = 0
    for info, start in parts:
        part = _inflate(data, info, start, file_name, limits, budget - used)
        used += len(part)
        if not _is_xml(info.filename, part):
            continue
        part = _as_utf8(part, file_name)
        _refuse_dtd(part, info.filename, file_name)
        name = info.filename.lower()
        if name == "[content_types].xml":
            _parse_safely(part, info.filename, file_name)
        elif name.endswith("workbook.xml.rels"):
            sheet_names.read_rels(part, info.filename)
        elif name.endswith("workbook.xml"):
            sheet_names.read_workbook(part)
        elif name.endswith("sharedstrings.xml"):
            shared.measure(part)
            may_hold_controls = may_hold_controls or _may_hold_controls(part)
        elif _SHEET_DATA.search(part):
            _check_xlsx_sheet(part, sheet_names.get(info.filename), file_name, limits)
            shared.charge(part, file_name)
            may_hold_controls = may_hold_controls or _may_hold_controls(part)
        elif name == "content.xml":
            _check_ods_content(part, file_name, limits)
            may_hold_controls = may_hold_controls or _may_hold_controls(part)
    return Scan(may_hold_controls=may_hold_controls)


def _declared_entries(data: bytes) -> int | None:
    """The number of parts the zip's end-of-directory record declares, or None if not found."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 12 > len(data):
        return None
    count = int.from_bytes(data[end + 10:end + 12], "little")
    if count == 0xFFFF:  # a Zip64 archive keeps the real count in its own record
        locator = data.rfind(b"PK\x06\x07", 0, end)
        if locator >= 0:
            record = int.from_bytes(data[locator + 8:locator + 16], "little")
            if data[record:record + 4] == b"PK\x06\x06":
                count = int.from_bytes(data[record + 32:record + 40], "little")
    return count


def _too_many_parts(file_name: str, count: int, limits: Limits) -> ReadError:
    return ReadError(file_name, f"This file holds {count:,} parts; a workbook has at most "
                                f"{limits.zip_entries:,}, so this is not an ordinary spreadsheet. "
                                + _RESAVE)


def _bomb(file_name: str, limits: Limits, part: str | None = None) -> ReadError:
    where = f" (part '{part}' is compressed more than {limits.compression_ratio:g} times)" if part else ""
    return ReadError(file_name, f"This file would expand to far more than a return needs when opened"
                                f"{where}; it may be a 'zip bomb', so it was not opened. Workbooks "
                                f"may unzip to at most {limits.uncompressed_mb:g} MB. " + _RESAVE)


def _data_start(data: bytes, info: zipfile.ZipInfo, file_name: str) -> int:
    """Where a part's compressed bytes begin, once its local header is found to agree."""
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise ReadError(file_name, _DAMAGED)
    name_length = int.from_bytes(header[26:28], "little")
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    name = data[info.header_offset + 30:info.header_offset + 30 + name_length]
    if name != info.orig_filename.encode(encoding, "replace"):
        raise ReadError(file_name, _DAMAGED)
    return info.header_offset + 30 + name_length + int.from_bytes(header[28:30], "little")


def _inflate(data: bytes, info: zipfile.ZipInfo, start: int, file_name: str, limits: Limits,
             budget: int) -> bytes:
    """One part's bytes, decompressed here with caps rather than trusting the sizes it declares."""
    if info.flag_bits & 0x1:
        raise ReadError(file_name, "Parts of this file are encrypted. Remove the password in Excel "
                                   "(File > Info > Protect Workbook), save it and upload it again.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ReadError(file_name, "This file is compressed in a way spreadsheet programs do not use. "
                        + _RESAVE)
    raw = memoryview(data)[start:start + info.compress_size]
    if len(raw) < info.compress_size:
        raise ReadError(file_name, _DAMAGED)
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            raise ReadError(file_name, _DAMAGED)
        return bytes(raw)
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.compression_ratio * max(1, info.compress_size):
        raise _bomb(file_name, limits, info.filename)
    # Never more than one byte past what the part declares (the declared sizes were checked
    # against the limits) or past what is left of the budget, so a part that lies about its
    # size cannot make this allocate more.
    cap = min(info.file_size, budget)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, cap + 1)
    except zlib.error as exc:
        raise ReadError(file_name, _DAMAGED) from exc
    if len(out) > cap:
        raise _bomb(file_name, limits) if len(out) > budget else ReadError(file_name, _DAMAGED)
    if not inflater.eof or len(out) != info.file_size:
        raise ReadError(file_name, _DAMAGED)  # the data stops short, or holds less than it says
    return out


def _is_xml(name: str, part: bytes) -> bool:
    if name.lower().endswith((".xml", ".rels", ".vml")):
        return True
    head = part[:8].lstrip()
    return head.startswith((b"<", b"\xef\xbb\xbf<", b"\xff\xfe", b"\xfe\xff", b"\x00<"))


def _as_utf8(part: bytes, file_name: str) -> bytes:
    """UTF-16 XML as UTF-8, so the byte-level scans below cannot be dodged by re-encoding."""
    head = part[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif head.startswith(b"<\x00"):
        encoding = "utf-16-le"
    elif head.startswith(b"\x00<"):
        encoding = "utf-16-be"
    else:
        return part
    try:
        return part.decode(encoding).encode("utf-8")
    except UnicodeError as exc:
        raise ReadError(file_name, _DAMAGED) from exc


_MARKUP_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MARKUP_START = re.compile(rb"<!")


def _refuse_dtd(part: bytes, part_name: str, file_name: str) -> None:
    # Spreadsheet programs never write a document type declaration; it is the vehicle of the
    # billion-laughs and external-entity attacks, so a file carrying one is refused outright.
    if _MARKUP_START.search(part) and _MARKUP_DECLARATION.search(part):
        raise _hostile_xml(file_name, part_name)


def _hostile_xml(file_name: str, part_name: str) -> ReadError:
    return ReadError(file_name, f"Part '{part_name}' of this file declares XML entities or a document "
                                "type, which spreadsheet programs never write and which can be used "
                                "to attack a server, so the file was not opened. " + _RESAVE)


def _parse_safely(part: bytes, part_name: str, file_name: str) -> None:
    try:
        fromstring(part, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _hostile_xml(file_name, part_name) from exc
    except ParseError as exc:
        raise ReadError(file_name, _DAMAGED) from exc


def _may_hold_controls(part: bytes) -> bool:
    return (len(part.translate(None, _CONTROL_BYTES)) != len(part)
            or _CHARACTER_REFERENCE.search(part) is not None or _OOXML_ESCAPE.search(part) is not None)


# --- the size of a sheet -------------------------------------------------------------------

def check_extent(file_name: str, sheet: str, rows: int, columns: int, limits: Limits | None = None,
                 ) -> None:
    """Refuse a sheet that spans more rows or cells than the limits allow."""
    limits = limits or current_limits()
    if rows > limits.rows_per_sheet:
        raise ReadError(file_name, f"This sheet has {rows:,} rows; a sheet may have at most "
                                   f"{limits.rows_per_sheet:,}. " + _SHRINK, sheet=sheet)
    if rows * columns > limits.cells_per_sheet:
        raise ReadError(file_name, f"This sheet spans {rows:,} rows by {columns:,} columns "
                                   f"({rows * columns:,} cells); a sheet may span at most "
                                   f"{limits.cells_per_sheet:,} cells. " + _SHRINK, sheet=sheet)


def check_calamine_sheet(file_name: str, sheet) -> None:
    """Refuse a parsed sheet too big to turn into Python rows (every blank cell included)."""
    end = sheet.end
    if end is not None:
        check_extent(file_name, sheet.name, end[0] + 1, end[1] + 1)


def row_limit() -> int:
    return current_limits().rows_per_sheet


# Calamine places a cell by its own reference (r="B7"); only a cell without one takes its
# position from its row and the cell before, and such positions grow one at a time, so the
# size of a sheet is set by its cell references. Excel, LibreOffice, openpyxl and every other
# program seen write each cell tag as <c r="B7" ...>, unprefixed, and a return stays within
# column Z; so one quick search for any cell tag not of the form <c r="B7" (one letter, a few
# digits) settles most sheets.
_PREFIXED_CELL_TAG = re.compile(rb':c[\s>/]')
# Anything else is walked tag by tag: slower, exact, and not fooled by quoting or prefixes.
_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])\s*([A-Za-z]*)(\d*)\s*\1""")


def _check_xlsx_sheet(part: bytes, sheet: str, file_name: str, limits: Limits) -> None:
    # Within column Z and below the largest power of ten under `small` rows a sheet cannot
    # break either limit; only a sheet with a cell tag outside that box is looked at further.
    small = min(limits.rows_per_sheet, limits.cells_per_sheet // 26)
    digits = len(str(max(small, 1))) - 1
    outside = re.compile(rb'<c(?! r="[A-Za-z]\d{1,%d}")[\s>/]' % digits) if digits else re.compile(rb"<c[\s>/]")
    prefixed = _PREFIXED_CELL_TAG.search(part) is not None
    if not prefixed and not outside.search(part):
        return
    # Looking further costs time per tag: a sheet with twice as many cell tags as the cells it
    # may have (empty formatted cells included) is refused without it.
    if part.count(b"<c") > 2 * limits.cells_per_sheet:
        raise ReadError(file_name, f"This sheet holds more than {limits.cells_per_sheet:,} cells, the "
                                   "most a sheet may have. " + _SHRINK, sheet=sheet)
    if not prefixed and not _UNREFERENCED_CELL_TAG.search(part):
        _check_referenced_sheet(part, sheet, file_name, limits)
        return
    rows, columns = _sheet_extent(part)
    check_extent(file_name, sheet, rows, columns, limits)


# When every cell tag is written <c r="B7" ...> (letters and digits, as every program seen
# writes them) and none is prefixed, each cell's place is its own reference and the row tags
# do not matter: the extent is the largest row and the largest column among the cells that
# hold a value, found by a few regex scans instead of a walk. A cell holds no value when its
# tag closes itself (<c r="XFD9" s="1"/>), exactly as in _sheet_extent.
_UNREFERENCED_CELL_TAG = re.compile(rb'<c(?! r="[A-Za-z]+\d+")[\s>/]')
_VALUED = rb'"(?:[^>]*[^>/\s])?\s*>'    # the rest of a tag that does not close itself
_WIDE_CELL = re.compile(rb'<c r="([A-Za-z]{2,})\d+' + _VALUED)
_ANY_CELL_COLUMN = re.compile(rb'<c r="([A-Za-z]+)\d+' + _VALUED)


def _check_referenced_sheet(part: bytes, sheet: str, file_name: str, limits: Limits) -> None:
    """check_extent for a sheet whose cell tags all carry their reference (see above)."""
    wide = set(_WIDE_CELL.findall(part))
    # Beyond column Z the widest column is exact; within it, 26 is an upper bound.
    columns = max(map(_column_number, wide)) if wide else 26
    most_rows = min(limits.rows_per_sheet, limits.cells_per_sheet // columns)
    beyond = re.compile(rb'<c r="[A-Za-z]+0*(' + _greater_than(most_rows) + rb')' + _VALUED)
    if beyond.search(part) is None:
        return   # no cell with a value lies below the last row the limits allow at this width
    rows = max(map(int, beyond.findall(part)))
    if not wide:
        columns = max(map(_column_number, set(_ANY_CELL_COLUMN.findall(part))))
    check_extent(file_name, sheet, rows, columns, limits)


def _greater_than(n: int) -> bytes:
    """A regex for the decimal numbers without leading zeros that are greater than ``n``."""
    s = str(max(n, 0))
    alternatives = [rb"[1-9]\d{%d,}" % len(s)]           # more digits than n
    for i, ch in enumerate(s):                           # as many digits, larger at place i
        low = max(int(ch) + 1, 1 if i == 0 else 0)
        if low <= 9:
            alternatives.append(s[:i].encode() + b"[%d-9]" % low + rb"\d{%d}" % (len(s) - i - 1))
    return b"(?:" + b"|".join(alternatives) + b")"


def _sheet_extent(part: bytes) -> tuple[int, int]:
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


# Only these parts hold cell text; the rest (themes, styles, properties) never reach a cell.
_SHEET_DATA = re.compile(rb"sheetData")
_PART_ORDER = {"workbook.xml.rels": 0, "workbook.xml": 0, "sharedstrings.xml": 1}
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


class _SheetNames:
    """Part path → sheet tab name, from xl/workbook.xml and its relationships, for messages."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}   # relationship id → part path
        self.names: dict[str, str] = {}     # relationship id → tab name

    def read_rels(self, part: bytes, part_name: str) -> None:
        root = _parse_quietly(part)
        base = part_name.rsplit("_rels/", 1)[0]  # "xl/"
        for rel in root.iter(_RELS_NS + "Relationship") if root is not None else ():
            target = rel.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else base + target
            self.targets[rel.get("Id") or ""] = posixpath.normpath(path).lower()

    def read_workbook(self, part: bytes) -> None:
        root = _parse_quietly(part)
        for sheet in root.iter() if root is not None else ():
            if sheet.tag.endswith("}sheet") and sheet.get(_DOC_RELS_NS + "id"):
                self.names[sheet.get(_DOC_RELS_NS + "id")] = sheet.get("name") or ""

    def get(self, part_name: str) -> str:
        path = part_name.lower()
        for rel_id, target in self.targets.items():
            if target == path and self.names.get(rel_id):
                return self.names[rel_id]
        return part_name


def _parse_quietly(part: bytes):
    """The parsed XML, or None: these parts only improve messages, and calamine judges them."""
    try:
        return fromstring(part, forbid_dtd=True)
    except (DefusedXmlException, ParseError):
        return None


class _SharedStrings:
    """Bounds the text cells copy out of the shared-strings table.

    Every cell that points at a shared string gets its own copy, so a 32,767-character
    string used by a million cells becomes 32 GB. A cheap bound comes first; only when it is
    too high are the cells' indexes read and their strings' lengths added up.
    """

    _ITEM = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")
    _VALUE = re.compile(rb"<(?:[\w.-]+:)?v(?:\s[^>]*)?>\s*(\d{1,12})\s*<")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lengths: list[int] = []
        self.longest = 0
        self.charged = 0

    def measure(self, part: bytes) -> None:
        starts = [m.start() for m in self._ITEM.finditer(part)]
        ends = starts[1:] + [len(part)]
        # Bytes of XML are an upper bound on the characters they decode to.
        self.lengths = [e - s for s, e in zip(starts, ends)]
        self.longest = max(self.lengths, default=0)

    def charge(self, sheet: bytes, file_name: str) -> None:
        if not self.lengths:
            return
        budget = self.limits.shared_text_mb * _MB
        # A cell that points at a string takes at least 8 bytes of XML (<v>0</v>).
        if self.charged + len(sheet) // 8 * self.longest <= budget:
            self.charged += len(sheet) // 8 * self.longest
            return
        n = len(self.lengths)
        # Every number in a <v> is taken as a pointer: an over-count, never an under-count.
        for match in self._VALUE.finditer(sheet):
            index = int(match.group(1))
            if index < n:
                self.charged += self.lengths[index]
        if self.charged > budget:
            raise ReadError(file_name, "The cells of this file repeat its shared text so often that "
                                       f"it would take more than {self.limits.shared_text_mb:g} MB to "
                                       "open; it may be built to exhaust the server, so it was not "
                                       "opened. " + _RESAVE)


_TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE_NS = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_CELLS = (_TABLE_NS + "table-cell", _TABLE_NS + "covered-table-cell")


def _check_ods_content(part: bytes, file_name: str, limits: Limits) -> None:
    """Walk an ODS sheet's rows and cells, adding up "repeated" counts as calamine expands them."""
    stack: list = []
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
            if stack and elem.tag in (*_ODS_CELLS, _TABLE_NS + "table-row"):
                stack[-1].remove(elem)  # keep memory flat however many rows there are
    except DefusedXmlException as exc:
        raise _hostile_xml(file_name, "content.xml") from exc
    except (ParseError, ValueError) as exc:
        raise ReadError(file_name, _DAMAGED) from exc


def _repeat(value: str | None) -> int:
    return int(value) if value else 1


# --- text the validator checks ---------------------------------------------------------------

_TEXT_FIELDS = ("group", "directorate", "team", "criterion", "evidence", "evidence_link", "comment")
_NAME_FIELDS = ("group", "directorate", "team")


def text_problems(data: pd.DataFrame, file: str, labels: Mapping[str, str], *,
                  names_from_file: bool) -> list[Problem]:
    """Cells too long to store or export, located.

    ``names_from_file`` is true when the return's team names will be saved as new teams (no
    organisation loaded); they must then fit the database's name columns.
    """
    limits = current_limits()
    problems: list[Problem] = []
    for field in _TEXT_FIELDS:
        if field not in data.columns:
            continue
        lengths = data[field].str.len()
        limit = NAME_MAX_CHARS if names_from_file and field in _NAME_FIELDS else limits.cell_chars
        if not (lengths > limit).any():
            continue
        too_long = data.loc[lengths > limit].drop_duplicates(["sheet", "row"])
        for r in too_long.itertuples():
            n = len(getattr(r, field))
            if limit == NAME_MAX_CHARS:
                msg = (f"This {labels[field].lower()} name is {n:,} characters long; names may have at "
                       f"most {NAME_MAX_CHARS}. Use the name the organisation structure gives.")
            else:
                msg = (f"This cell holds {n:,} characters; a cell may hold at most {limit:,}. "
                       "Shorten it: put long evidence in a document and give its link instead.")
            problems.append(Problem(file, r.sheet, r.row, labels[field], msg))
    return problems
