"""Turn an uploaded file into raw cells.

This module knows nothing of criteria or teams: it only decides what kind of file it was given
(by its content, never its extension), reads every worksheet into rows of cell values, and turns
anything unreadable into a ``ReadError`` that tells the user what to do next. Layout detection
and validation happen on top of it, in ``returns``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from kim_metrics.domain.errors import ProblemCode, ReadError
from kim_metrics.reading.archive import check_zip
from kim_metrics.reading.biff import check_xls, ole_streams
from kim_metrics.reading.limits import (DAMAGED, PASSWORD, WorkbookTally, check_extent, check_size,
                                        current_limits, row_limit)
from kim_metrics.reading.text_rules import clean_cells, clean_text, has_control_chars, looks_binary

FORMATS = ("xlsx", "xlsm", "xls", "ods", "csv")

_SAVE_AS = "Save it as .xlsx, .xlsm, .xls, .ods or .csv and upload it again."
_EMPTY = "The file is empty. Check you chose the right file, fill it in and upload it again."
_XLSB = (
    "This is an Excel binary workbook (.xlsb), which cannot be uploaded. "
    "In Excel use File > Save As, choose 'Excel Workbook (*.xlsx)' and upload that copy."
)

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"

# Files people upload by mistake, named so the message can say what we were given.
_OTHER_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x05\x06", "an empty zip archive"),
)

# zipfile reports a damaged archive through many exception types, depending on where the damage is.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)

# Enough to decide which zip-based format we have; caps the read of a hostile [Content_Types].xml.
_CONTENT_TYPES_LIMIT = 1 << 20

# A CSV is text: control characters everywhere mean binary data (text_rules.looks_binary).
_CSV_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 16 * 1024


@dataclass(frozen=True)
class Sheet:
    """One worksheet as the spreadsheet shows it.

    ``rows[0]`` is spreadsheet row 1, even when the first rows are blank. Cells are str, int,
    float, bool, ``datetime.date``/``datetime``/``time``/``timedelta``, or ``None`` when empty;
    nothing is stripped or converted, except characters XML cannot hold (``text_rules.clean_text``).
    """

    name: str
    rows: list[list[object]]
    visible: bool = True


@dataclass(frozen=True)
class Workbook:
    file_name: str
    format: str
    sheets: list[Sheet]


def read_workbook(source: str | os.PathLike | bytes, *, file_name: str | None = None) -> Workbook:
    """Read every worksheet of a spreadsheet file (path or raw bytes) into raw cells.

    ``file_name`` is the name shown in messages; it defaults to the path's file name. Raises
    ``ReadError`` for anything that cannot be read as a spreadsheet. A workbook whose sheets are
    all empty is returned as is: deciding that there is no data is validation's job.
    """
    data, name = _load(source, file_name)
    name = clean_text(name)
    # Size, zip-bomb, XML and extent checks come before any parser sees the bytes (see limits).
    limits = current_limits()
    check_size(data, name, limits)
    may_hold_controls = True
    if data.startswith(_ZIP_MAGIC):
        may_hold_controls = check_zip(data, name, limits).may_hold_controls
    fmt, text = _sniff(data, name)
    if fmt == "xls":
        check_xls(data, name, limits)
    if text is not None:
        sheets = [_read_csv(text, name)]
        may_hold_controls = has_control_chars(text)
    else:
        sheets = _read_calamine(data, name)
    if may_hold_controls:
        for sheet in sheets:
            clean_cells(sheet.rows)  # cell by cell: a CSV's line breaks must stay where they are
    return Workbook(file_name=name, format=fmt, sheets=sheets)


def detect_format(data: bytes, file_name: str) -> str:
    """Return one of ``FORMATS`` from the file's content, or raise ``ReadError``."""
    return _sniff(data, file_name)[0]


def _load(source: str | os.PathLike | bytes, file_name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), file_name or "uploaded file"
    path = Path(source)
    name = file_name or path.name
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise ReadError(name, f"The file could not be opened ({exc.strerror or exc}). "
                              "Check it exists and is not open elsewhere, then try again.",
                              code=ProblemCode.FILE_UNREADABLE) from exc


def _sniff(data: bytes, file_name: str) -> tuple[str, str | None]:
    """The file's format and, for a CSV, its decoded text (so it is decoded only once)."""
    if not data.strip():
        raise ReadError(file_name, _EMPTY, code=ProblemCode.NO_DATA)
    if data.startswith(_ZIP_MAGIC):
        return _zip_format(data, file_name), None
    if data.startswith(_OLE2_MAGIC):
        return _ole2_format(data, file_name), None
    for magic, kind in _OTHER_MAGIC:
        if data.startswith(magic):
            raise _not_a_spreadsheet(file_name, kind)
    text = _decode_text(data, file_name)
    if text is None:
        raise _not_a_spreadsheet(file_name)
    if not text.strip():
        raise ReadError(file_name, _EMPTY, code=ProblemCode.NO_DATA)
    if text.lstrip().startswith("<"):
        raise _not_a_spreadsheet(file_name, "a web page or XML file")
    return "csv", text


def _not_a_spreadsheet(file_name: str, kind: str | None = None) -> ReadError:
    looks_like = f" (it looks like {kind})" if kind else ""
    return ReadError(file_name, f"This file is not a spreadsheet{looks_like}. {_SAVE_AS}",
                     code=ProblemCode.FILE_UNREADABLE)


def _zip_format(data: bytes, file_name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {n.lower(): n for n in archive.namelist()}
            if "mimetype" in names:
                mimetype = archive.read(names["mimetype"]).decode("ascii", "replace").strip()
                if mimetype.startswith(_ODS_MIMETYPE):
                    return "ods"
            is_ooxml = "[content_types].xml" in names
            content_types = ""
            if is_ooxml:
                with archive.open(names["[content_types].xml"]) as f:
                    content_types = f.read(_CONTENT_TYPES_LIMIT).decode("utf-8", "replace")
    except _ZIP_ERRORS as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc
    if is_ooxml and any(n.startswith("xl/") for n in names):
        if "xl/workbook.bin" in names:
            raise ReadError(file_name, _XLSB, code=ProblemCode.FILE_UNREADABLE)
        if "xl/vbaproject.bin" in names or "macroenabled" in content_types.lower():
            return "xlsm"
        return "xlsx"
    if any(n.startswith("word/") for n in names):
        raise _not_a_spreadsheet(file_name, "a Word document")
    if any(n.startswith("ppt/") for n in names):
        raise _not_a_spreadsheet(file_name, "a PowerPoint presentation")
    raise _not_a_spreadsheet(file_name, "a zip archive")


def _ole2_format(data: bytes, file_name: str) -> str:
    streams = ole_streams(data, file_name)
    # Office 2007+ files saved with a password are wrapped in an OLE2 container holding an
    # EncryptedPackage stream; the workbook inside cannot be read without the password.
    if "encryptedpackage" in streams:
        raise ReadError(file_name, PASSWORD, code=ProblemCode.PASSWORD_PROTECTED)
    if "workbook" in streams or "book" in streams:
        return "xls"
    if "worddocument" in streams:
        raise _not_a_spreadsheet(file_name, "a Word document")
    if "powerpoint document" in streams:
        raise _not_a_spreadsheet(file_name, "a PowerPoint presentation")
    raise _not_a_spreadsheet(file_name)


def _decode_text(data: bytes, file_name: str) -> str | None:
    """The file as text, or ``None`` when it is binary."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if looks_binary(data.decode("latin-1")):
                return None
            raise _mixed_encodings(file_name, data.count(b"\n", 0, exc.start) + 1) from exc
        return None if looks_binary(text) else text
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        return None if looks_binary(text) else text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    else:
        return None if looks_binary(text) else text
    # Excel on Windows writes "CSV" in cp1252; latin-1 decodes anything, so it comes last.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if looks_binary(text):
        return None
    utf8_line = _first_utf8_line(data)
    if utf8_line is not None:
        raise _mixed_encodings(file_name, data.count(b"\n", 0, first_bad) + 1, utf8_line)
    return text


def _first_utf8_line(data: bytes) -> int | None:
    """The number of the first line holding UTF-8 beyond ASCII, if any."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return number
    return None


def _mixed_encodings(file_name: str, bad_line: int, utf8_line: int | None = None) -> ReadError:
    """A CSV that is part UTF-8 and part another encoding, refused naming the lines.

    Such a file comes from pasting rows from one CSV into another. Read as cp1252, its UTF-8
    lines would be stored garbled ("cafÃ©"); read line by line, a cp1252 line can happen to be
    valid UTF-8 and be garbled the other way. Only the person with the file can say which it
    is, so it is refused.
    """
    utf8 = f"line {utf8_line} is UTF-8" if utf8_line else "the file is marked as UTF-8"
    return ReadError(file_name, f"This CSV file mixes two text encodings: {utf8}, but line {bad_line} "
                                "is not (it looks like Windows-1252, as older Excel writes), so accents "
                                "and symbols such as £ would be stored garbled. Open the file in Excel "
                                "and save it as 'CSV UTF-8 (Comma delimited)' or as .xlsx, check those "
                                "lines, and upload the new copy.", code=ProblemCode.FILE_UNREADABLE)


def _read_csv(text: str, file_name: str) -> Sheet:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    limit = row_limit()
    try:
        # Only "" is a false str, so `or` turns empty cells into None at C speed; one row past
        # the limit is enough to know it is exceeded.
        rows: list[list[object]] = [[cell or None for cell in row]
                                    for row in itertools.islice(reader, limit + 1)]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ReadError(file_name, f"Line {reader.line_num} has a cell longer than "
                                       f"{csv.field_size_limit():,} characters. Shorten it (put long "
                                       "evidence in a document and give its link instead) and upload "
                                       "again.", code=ProblemCode.TOO_LARGE) from exc
        raise ReadError(file_name, f"This CSV file could not be read: {exc} (line {reader.line_num}). "
                                   "Open it in Excel, save it again as .csv or .xlsx, and upload "
                                   "the new copy.", code=ProblemCode.FILE_UNREADABLE) from exc
    check_extent(file_name, file_name, len(rows), max(map(len, rows), default=0))
    return Sheet(name=file_name, rows=rows)


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        # A line cut in half would throw off the per-line delimiter counts.
        sample = sample[:sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _read_calamine(data: bytes, file_name: str) -> list[Sheet]:
    with _calamine_errors(file_name):
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets: list[Sheet] = []
    tally = WorkbookTally(file_name)
    with book:
        for meta in book.sheets_metadata:
            # Chart, dialog and macro sheets hold no cells anybody typed.
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            with _calamine_errors(file_name, meta.name):
                sheet = book.get_sheet_by_name(meta.name)
            tally.add_calamine_sheet(sheet)  # before Python lists are made of every blank
            with _calamine_errors(file_name, meta.name):
                # skip_empty_area=False keeps leading blank rows and columns, so rows[0] is row 1.
                rows = sheet.to_python(skip_empty_area=False)
            sheets.append(Sheet(name=meta.name, rows=_blank_to_none(rows),
                                visible=meta.visible == SheetVisibleEnum.Visible))
    return sheets


def _blank_to_none(rows: list[list[object]]) -> list[list[object]]:
    # Calamine gives "" for an empty cell. The C-level `in` test lets full rows skip the
    # per-cell Python loop; rows are fresh lists from calamine, so rewriting them in place is safe.
    for row in rows:
        if "" in row:
            row[:] = [cell if cell != "" else None for cell in row]
    return rows


@contextmanager
def _calamine_errors(file_name: str, sheet: str | None = None) -> Iterator[None]:
    try:
        yield
    except PasswordError as exc:
        raise ReadError(file_name, PASSWORD, sheet=sheet, code=ProblemCode.PASSWORD_PROTECTED) from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        # Besides its own CalamineError family, calamine can fail on a malformed file with a
        # Rust panic, which pyo3 raises as PanicException: a BaseException, not an Exception.
        raise ReadError(file_name, DAMAGED, sheet=sheet, code=ProblemCode.FILE_UNREADABLE) from exc
