"""Checks a zip-based workbook (.xlsx, .xlsm, .ods) must pass before calamine opens it.

Calamine is Rust, so XML entity tricks (billion laughs, external entities) cannot make it expand
or fetch anything; but it trusts the sizes a file declares. It expands an ODS cell marked
"repeated 16,384 times", copies a shared string into every cell that points to it, and makes a
grid from A1 to the furthest cell with a value. So every part is decompressed here first, with
caps, and its XML is scanned for the coordinates, repeats and shared strings that set those
sizes. Only then does calamine open it. Any XML this module parses itself goes through
defusedxml.

``zipfile`` does the container's work: the directory, each part's local header, bounded
decompression and the CRC. What it lacks is kept here: a cap on the parts the directory
declares before it is listed, on the size the parts unzip to and on how far one part is
compressed, and a refusal of encrypted parts and of compression methods no spreadsheet uses.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from kim_metrics.domain.errors import ProblemCode, ReadError
from kim_metrics.reading.extent import hostile_xml, ods_extents, quick_xlsx_extent, xlsx_sheet_extent
from kim_metrics.reading.limits import (DAMAGED, MB, RESAVE, Limits, check_extent, check_workbook, fits_sheet,
                                        too_much_shared_text, workbook_cells)
from kim_metrics.reading.text_rules import xml_may_hold_controls

# Small parts (styles, themes) may compress very well and cannot hurt; the ratio limit applies
# to parts bigger than this.
_RATIO_FLOOR = MB
# zipfile reports a damaged archive through many exception types, depending on where the damage is.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
               OverflowError, IndexError, RuntimeError)


@dataclass(frozen=True)
class Scan:
    """What the checks learnt that the reader can use."""

    # False only when the XML was scanned and nothing in it can decode to a control
    # character, so the reader can skip looking at every cell.
    may_hold_controls: bool = True


def check_zip(data: bytes, file_name: str, limits: Limits) -> Scan:
    """Refuse a zip-based workbook that would expand beyond the limits, or holds hostile XML.

    Raises ``ReadError`` with a message saying what to do.
    """
    # The count the archive declares is checked before zipfile builds an object per part.
    declared = _declared_entries(data)
    if declared is not None and declared > limits.zip_entries:
        raise _too_many_parts(file_name, declared, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc
    if len(infos) > limits.zip_entries:
        raise _too_many_parts(file_name, len(infos), limits)
    for info in infos:
        _check_entry(archive, info, file_name, limits)
    # A damaged directory can declare any sizes; only one whose parts were found is judged by them.
    if sum(i.file_size for i in infos) > limits.uncompressed_mb * MB:
        raise _bomb(file_name, limits)
    # The workbook's sheet list and the shared strings come first, so sheets can be named in
    # messages and the cells that point into the shared strings can be measured.
    infos.sort(key=lambda i: _PART_ORDER.get(i.filename.lower().rsplit("/", 1)[-1], 2))
    shared = _SharedStrings(file_name, limits)
    book = _SheetList()
    extents: dict[str, tuple[int, int]] = {}      # part → its extent, or a bound on it
    rough: dict[str, zipfile.ZipInfo] = {}         # the parts whose extent is only a bound
    ods_sheets: list[tuple[str, int, int]] | None = None
    may_hold_controls = False
    for info in infos:
        part = _read(archive, info, file_name)
        if not _is_xml(info.filename, part):
            continue
        part = _as_utf8(part, file_name)
        _refuse_dtd(part, info.filename, file_name)
        name = info.filename.lower()
        if name == "[content_types].xml":
            _parse_safely(part, info.filename, file_name)
        elif name.endswith("workbook.xml.rels"):
            book.read_rels(part, info.filename)
        elif name.endswith("workbook.xml"):
            book.read_workbook(part)
        elif name.endswith("sharedstrings.xml"):
            shared.measure(part)
            may_hold_controls = may_hold_controls or xml_may_hold_controls(part)
        elif _SHEET_DATA.search(part):
            sheet = book.name_of(info.filename)
            bound = quick_xlsx_extent(part)
            if bound is not None and fits_sheet(*bound, limits):
                rough[name] = info
            else:
                bound = xlsx_sheet_extent(part, sheet, file_name, limits)
                check_extent(file_name, sheet, *bound, limits)
            extents[name] = bound
            # Calamine reads a part once for every sheet the workbook lists on it.
            shared.charge(part, times=max(1, book.times_listed(info.filename)))
            may_hold_controls = may_hold_controls or xml_may_hold_controls(part)
        elif name == "content.xml":
            ods_sheets = ods_extents(part, file_name, limits)
            may_hold_controls = may_hold_controls or xml_may_hold_controls(part)
    if ods_sheets is None:
        _measure_rough(archive, rough, extents, book, file_name, limits)
    check_workbook(file_name, ods_sheets if ods_sheets is not None else book.sheets(extents), limits)
    return Scan(may_hold_controls=may_hold_controls)


def _measure_rough(archive: zipfile.ZipFile, rough: dict[str, zipfile.ZipInfo],
                   extents: dict[str, tuple[int, int]], book: _SheetList, file_name: str,
                   limits: Limits) -> None:
    """Measure exactly, largest first, the sheets only bounded so far, until the workbook fits.

    One quick scan bounds an ordinary sheet within ten times its rows, which settles any
    workbook of up to a tenth of the limit; only a bigger one pays for reading parts again.
    """
    for name in sorted(rough, key=lambda n: extents[n][0] * extents[n][1], reverse=True):
        if workbook_cells(book.sheets(extents)) <= limits.workbook_cells:
            return
        info = rough[name]
        part = _as_utf8(_read(archive, info, file_name), file_name)
        extents[name] = xlsx_sheet_extent(part, book.name_of(info.filename), file_name, limits)


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
                                + RESAVE, code=ProblemCode.TOO_LARGE)


def _bomb(file_name: str, limits: Limits, part: str | None = None) -> ReadError:
    where = f" (part '{part}' is compressed more than {limits.compression_ratio:g} times)" if part else ""
    return ReadError(file_name, f"This file would expand to far more than a return needs when opened"
                                f"{where}; it may be a 'zip bomb', so it was not opened. Workbooks "
                                f"may unzip to at most {limits.uncompressed_mb:g} MB. " + RESAVE,
                                code=ProblemCode.TOO_LARGE)


def _check_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_name: str, limits: Limits) -> None:
    """Refuse a part zipfile would open but no spreadsheet holds; make zipfile check its header."""
    if info.flag_bits & 0x1:
        raise ReadError(file_name, "Parts of this file are encrypted. Remove the password in Excel "
                                   "(File > Info > Protect Workbook), save it and upload it again.",
                                   code=ProblemCode.PASSWORD_PROTECTED)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ReadError(file_name, "This file is compressed in a way spreadsheet programs do not use. "
                        + RESAVE, code=ProblemCode.UNSAFE_CONTENT)
    try:
        # Opening reads the part's local header and checks it agrees with the directory.
        archive.open(info).close()
    except _ZIP_ERRORS as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.compression_ratio * max(1, info.compress_size):
        raise _bomb(file_name, limits, info.filename)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_name: str) -> bytes:
    """One part's bytes. zipfile never returns more than the part declares (the declared sizes
    were checked against the limits), and checks the CRC once it reaches the end."""
    try:
        with archive.open(info) as part:
            return part.read(info.file_size + 1)
    except _ZIP_ERRORS as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc


def _is_xml(name: str, part: bytes) -> bool:
    if name.lower().endswith((".xml", ".rels", ".vml")):
        return True
    head = part[:8].lstrip()
    return head.startswith((b"<", b"\xef\xbb\xbf<", b"\xff\xfe", b"\xfe\xff", b"\x00<"))


def _as_utf8(part: bytes, file_name: str) -> bytes:
    """UTF-16 XML as UTF-8, so the byte-level scans cannot be dodged by re-encoding."""
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
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc


_MARKUP_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MARKUP_START = re.compile(rb"<!")


def _refuse_dtd(part: bytes, part_name: str, file_name: str) -> None:
    # Spreadsheet programs never write a document type declaration; it is the vehicle of the
    # billion-laughs and external-entity attacks, so a file carrying one is refused outright.
    if _MARKUP_START.search(part) and _MARKUP_DECLARATION.search(part):
        raise hostile_xml(file_name, part_name)


def _parse_safely(part: bytes, part_name: str, file_name: str) -> None:
    try:
        fromstring(part, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise hostile_xml(file_name, part_name) from exc
    except ParseError as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc


# Only these parts hold cell text; the rest (themes, styles, properties) never reach a cell.
_SHEET_DATA = re.compile(rb"sheetData")
_PART_ORDER = {"workbook.xml.rels": 0, "workbook.xml": 0, "sharedstrings.xml": 1}
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


class _SheetList:
    """The sheets xl/workbook.xml lists and the part each is read from, for messages and sizes."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}             # relationship id → part path
        self.listed: list[tuple[str, str]] = []       # (tab name, relationship id), in order

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
                self.listed.append((sheet.get("name") or "", sheet.get(_DOC_RELS_NS + "id")))

    def _parts(self) -> list[tuple[str, str | None]]:
        return [(name, self.targets.get(rel_id)) for name, rel_id in self.listed]

    def name_of(self, part_name: str) -> str:
        path = part_name.lower()
        return next((name for name, target in self._parts() if target == path and name), part_name)

    def times_listed(self, part_name: str) -> int:
        return Counter(target for _, target in self._parts())[part_name.lower()]

    def sheets(self, extents: dict[str, tuple[int, int]]) -> list[tuple[str, int, int]]:
        """Every listed sheet with the extent of its part; every measured part when no list
        could be read (calamine then judges the workbook)."""
        if not self.listed:
            return [(path, *extent) for path, extent in extents.items()]
        return [(name, *extents.get(target or "", (0, 0))) for name, target in self._parts()]


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

    def __init__(self, file_name: str, limits: Limits) -> None:
        self.file_name = file_name
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

    def charge(self, sheet: bytes, *, times: int = 1) -> None:
        if not self.lengths:
            return
        budget = self.limits.shared_text_mb * MB
        # A cell that points at a string takes at least 8 bytes of XML (<v>0</v>).
        cheap = len(sheet) // 8 * self.longest * times
        if self.charged + cheap <= budget:
            self.charged += cheap
            return
        n = len(self.lengths)
        # Every number in a <v> is taken as a pointer: an over-count, never an under-count.
        for match in self._VALUE.finditer(sheet):
            index = int(match.group(1))
            if index < n:
                self.charged += self.lengths[index] * times
        if self.charged > budget:
            raise too_much_shared_text(self.file_name, self.limits)
