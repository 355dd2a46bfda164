"""A corpus of hostile, broken and awkward returns, built fresh into a folder by the tests.

Nothing here is a committed binary: every file is made by code, so what each one tests can be
read next to how it is made. Each entry says whether the file must be refused (and which
words the message must hold) or accepted (and which text must be stored verbatim).

Every return is for the organisation in ``ORG``, round ``ROUND``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import sqlite3
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import xlwt
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from kim_metrics.storage.models import Base
from tests.support.returns import FULL_MARKS, RETURN_HEADERS

ROUND = "2026-Q3"
ORG = pd.DataFrame({
    "team": ["Data Office", "Web Team", "Estates"],
    "directorate": ["Digital", "Digital", "Corporate Services"],
    "group": ["Corporate", "Corporate", "Corporate"],
    "director": ["ali.khan@dept.gov.uk", "ali.khan@dept.gov.uk", "sam.roe@dept.gov.uk"],
    "information_managers": [["im.one@dept.gov.uk"], ["im.one@dept.gov.uk"], []],
})
UPLOADER = "im.one@dept.gov.uk"  # information manager for both Digital teams
SCORES = {"Data Office": FULL_MARKS,
          "Web Team": {"naming": 2, "corporate_system": 1, "what_to_keep": "Mostly in place",
                       "asset_register": 0, "information_manager": "No", "training": "85%",
                       "legacy_review": 1}}
EVIDENCE = "Spot check of 20 folders, March"
_DIRECTORATE = {t: d for t, d in zip(ORG["team"], ORG["directorate"])}


@dataclass(frozen=True)
class BadFile:
    name: str                         # the file name as uploaded; its extension may lie on purpose
    build: Callable[[], bytes]
    accepted: bool = False
    says: tuple[str, ...] = ()        # words every refusal must contain
    # (sheet, row, column) one of the problems must point at; None parts are not checked
    where: tuple[str | None, int | None, str | None] | None = None
    # accepted files: (team, criterion id) → {field: text that must be stored exactly}
    stored: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    fmt: str | None = None            # the format the reader must detect


# --- building blocks -------------------------------------------------------------------------

def rows(scores: dict[str, dict[str, object]] = SCORES, *, evidence: str = EVIDENCE,
         overrides: dict[tuple[str, str], dict[str, object]] | None = None) -> list[list[object]]:
    """Long-layout rows; ``overrides`` replaces fields of one (team, criterion) row."""
    out = []
    for team, by_criterion in scores.items():
        for cid, score in by_criterion.items():
            row = {"Group": "Corporate", "Directorate": _DIRECTORATE.get(team, "Digital"), "Team": team,
                   "Criterion": cid, "Score": score, "Evidence": evidence, "Evidence link": "",
                   "Comment": ""}
            row.update((overrides or {}).get((team, cid), {}))
            out.append([row[h] for h in RETURN_HEADERS])
    return out


def xlsx(body: list[list[object]] | None = None, *, headers: list[str] | None = RETURN_HEADERS,
         sheet: str = "Return", tweak: Callable[[openpyxl.Workbook], None] | None = None) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    if headers:
        ws.append(headers)
    for row in rows() if body is None else body:
        ws.append(row)
    if tweak:
        tweak(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(body: list[list[object]] | None = None, *, encoding: str = "utf-8", delimiter: str = ",",
              headers: list[str] = RETURN_HEADERS, bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows([["" if v is None else v for v in row] for row in (rows() if body is None else body)])
    data = buffer.getvalue().encode(encoding)
    return (codecs.BOM_UTF8 + data) if bom else data


def rezip(data: bytes, replace: dict[str, bytes | Callable[[bytes], bytes]] | None = None,
          add: dict[str, bytes] | None = None) -> bytes:
    """The zip ``data`` with some parts rewritten and some added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            part = src.read(item)
            change = (replace or {}).get(item.filename)
            if change is not None:
                part = change(part) if callable(change) else change
            dst.writestr(item.filename, part)
        for name, part in (add or {}).items():
            dst.writestr(name, part)
    return out.getvalue()


def sheet_xml(cells: bytes, prolog: bytes = b"") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>' + prolog
            + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>" + cells + b"</sheetData></worksheet>")


def with_sheet(cells: bytes, prolog: bytes = b"", **more: bytes) -> bytes:
    return rezip(xlsx(), {"xl/worksheets/sheet1.xml": sheet_xml(cells, prolog), **more})


def ole2(stream_names: list[str]) -> bytes:
    """A minimal OLE2 compound file holding empty streams: how Office wraps an encrypted file."""
    end_of_chain, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    names = sorted(stream_names, key=lambda n: (len(n), n.upper()))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII109I", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16),
                         0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end_of_chain, 0,
                         end_of_chain, 0, 0, *[free] * 108)
    fat = struct.pack("<128I", fat_sector, end_of_chain, *[free] * 126)

    def entry(name: str, kind: int, right: int, child: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1 if kind else 0,
                           no_stream, right, child, bytes(16), 0, 0, 0, end_of_chain if kind else 0, 0)

    entries = [entry("Root Entry", 5, no_stream, 1 if names else no_stream)]
    for i, name in enumerate(names, start=1):
        entries.append(entry(name, 2, i + 1 if i < len(names) else no_stream, no_stream))
    entries += [entry("", 0, no_stream, no_stream)] * (4 - len(entries))
    return header + fat + b"".join(entries)


# --- the hostile and broken ones ------------------------------------------------------------------

def _corrupt_deflate() -> bytes:
    data = bytearray(xlsx(rows(evidence="Spot check " * 50)))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle:middle + 40] = b"\x00\xff" * 20
    return bytes(data)


def _bad_central_directory() -> bytes:
    data = bytearray(xlsx())
    directory = data.rindex(b"PK\x01\x02")
    data[directory + 20:directory + 60] = b"\xee" * 40   # sizes, name length, offsets of one entry
    return bytes(data)


def _zip_bomb() -> bytes:
    # 80 MB of blank space between two rows compresses to well under 100 KB.
    padding = b" " * (80 * 1024 * 1024)
    cells = b'<row r="1"><c r="A1" t="inlineStr"><is><t>Team</t></is></c></row>'
    return with_sheet(cells + padding)


def _zip_bomb_lying() -> bytes:
    """The bomb again, with its central directory claiming the part is tiny."""
    data = bytearray(_zip_bomb())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    pos = _central_entry(bytes(data), info.filename)
    data[pos + 24:pos + 28] = struct.pack("<I", 2048)          # uncompressed size, central directory
    local = info.header_offset
    data[local + 22:local + 26] = struct.pack("<I", 2048)      # and in the local header
    return bytes(data)


def _central_entry(data: bytes, name: str) -> int:
    """Where the central directory's entry for ``name`` starts."""
    end = data.rindex(b"PK\x05\x06")
    pos = int.from_bytes(data[end + 16:end + 20], "little")
    while True:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        extra_len = int.from_bytes(data[pos + 30:pos + 32], "little")
        comment_len = int.from_bytes(data[pos + 32:pos + 34], "little")
        if data[pos + 46:pos + 46 + name_len] == name.encode():
            return pos
        pos += 46 + name_len + extra_len + comment_len


def _many_parts() -> bytes:
    return rezip(xlsx(), add={f"xl/media/image{i}.png": b"" for i in range(1_200)})


_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(2, 10))
           + b"]>")


def _billion_laughs() -> bytes:
    return with_sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', _LAUGHS)


def _external_entity() -> bytes:
    def poison(part: bytes) -> bytes:
        return b'<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + part
    return rezip(xlsx(), {"[Content_Types].xml": poison})


def _far_cell() -> bytes:
    # Two values: calamine would make a grid of 300,000 rows by 16,384 columns from them.
    return with_sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>Team</t></is></c></row>'
                      b'<row r="300000"><c r="XFD300000"><v>1</v></c></row>')


def _wide_and_sparse() -> bytes:
    # Written the way no program writes it (single quotes, a prefix), so the slow scan must
    # find the far cell: 150,000 rows by 702 columns.
    cells = (b"<row r='1'><c r = 'A1' t='inlineStr'><is><t>Team</t></is></c></row>"
             b"<row r='150000'><c r='ZZ150000'><v>1</v></c></row>")
    return with_sheet(cells)


def _ods(content_rows: str) -> bytes:
    return ods({"Return": content_rows})


def ods(tables: dict[str, str]) -> bytes:
    """An ODS workbook whose sheets hold these rows (content.xml table rows, as written)."""
    body = "".join(f'<table:table table:name="{name}">{content_rows}</table:table>'
                   for name, content_rows in tables.items())
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
               "</office:document-content>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml",
                         '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                         'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
                         'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type='
                         '"text/xml"/></manifest:manifest>')
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _ods_repeat_bomb() -> bytes:
    # One cell repeated across 16,384 columns on a row repeated 100,000 times: 1.6 billion cells.
    return _ods('<table:table-row><table:table-cell office:value-type="string"><text:p>Team</text:p>'
                '</table:table-cell></table:table-row><table:table-row table:number-rows-repeated="100000">'
                '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" '
                'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>')


def _shared_strings_bomb() -> bytes:
    # One 32,000-character string, used by 20,000 cells: 640 MB once every cell has its copy.
    strings = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>' + b"x" * 32_000 + b"</t></si></sst>")
    cells = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (i, i) for i in range(1, 20_001))

    def declare(types: bytes) -> bytes:
        return types.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                             b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')

    def relate(rels: bytes) -> bytes:
        return rels.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                            b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                            b'Target="sharedStrings.xml"/></Relationships>')
    base = rezip(xlsx(), {"xl/worksheets/sheet1.xml": sheet_xml(cells), "[Content_Types].xml": declare,
                          "xl/_rels/workbook.xml.rels": relate})
    return rezip(base, add={"xl/sharedStrings.xml": strings})


_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _xlsb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", b"\x00")
    return buffer.getvalue()


def _huge_csv() -> bytes:
    line = ",".join(["Corporate", "Digital", "Data Office", "naming", "3", "x" * 2000, "", ""]) + "\n"
    return csv_bytes() + (line * (21 * 1024 * 1024 // len(line) + 1)).encode()


def _xls_sheets_to_the_corner() -> bytes:
    # 50 sheets, each with a value in A1 and in its last cell (IV65536): 26 KB on disk, and
    # calamine builds every sheet's 16.7-million-cell grid as it opens the file (27 GB).
    book = xlwt.Workbook()
    for i in range(1, 51):
        ws = book.add_sheet(f"Sheet {i}")
        ws.write(0, 0, "Team")
        ws.write(65_535, 255, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_sheets_far_down() -> bytes:
    # 40 sheets, each with one value at AX199999: every sheet within the limits of one sheet
    # (just under 10 million cells), 400 million cells together.
    book = openpyxl.Workbook()
    book.remove(book.active)
    for i in range(1, 41):
        book.create_sheet(f"Sheet {i}")["AX199999"] = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls_record(data: bytes, pattern: bytes, change: Callable[[bytearray, int], None]) -> bytes:
    """An .xls written by xlwt with one BIFF record changed in place, found by its header bytes.

    xlwt writes the workbook stream in one piece, so a record's bytes can be changed where they lie.
    """
    out = bytearray(data)
    at = bytes(out).index(pattern)
    change(out, at + 4)
    return bytes(out)


def _xls_upside_down_dimensions() -> bytes:
    # A DIMENSIONS record whose first row lies after its last: calamine's 32-bit arithmetic
    # makes that four billion rows and asks for 343 GB at once, which aborts the process.
    return xls_record(_xls(), b"\x00\x02\x0e\x00",
                      lambda out, at: struct.pack_into("<IIHH", out, at, 100, 5, 0, 8))


def _xls_shared_strings_lie() -> bytes:
    # The shared-strings record declares two billion strings; calamine reserves room for all
    # of them (48 GB) before reading the first.
    return xls_record(_xls(), b"\xfc\x00", lambda out, at: struct.pack_into("<I", out, at + 4, 0x7FFF_FFF0))


def _mixed_encodings_csv() -> bytes:
    # Rows pasted from a Windows CSV into a UTF-8 one: line 9 is cp1252, the rest UTF-8.
    lines = csv_bytes(rows(evidence="Café audit, £250")).decode("utf-8").splitlines(keepends=True)
    return b"".join(line.encode("cp1252" if number == 9 else "utf-8")
                    for number, line in enumerate(lines, start=1))


# --- awkward but legitimate ------------------------------------------------------------------

_CTRL_TEXT = "Policy signed\x0bReviewed\x01 by\x00 the\x1f board\x0cPage two"
_CTRL_CLEAN = "Policy signed\nReviewed by the board\nPage two"


def _control_characters_xlsx() -> bytes:
    # openpyxl refuses to write these characters, so they are put in as Excel escapes them
    # (_x000B_), as character references and as raw bytes after the workbook is written.
    def poison(part: bytes) -> bytes:
        return (part.replace(b"CTRL-EVIDENCE", b"Policy signed_x000B_Reviewed&#1; by_x0000_ the\x1f board"
                             b"_x000C_Page two")
                .replace(b"CTRL-TEAM-NOTE", b"Checked\x02 twice"))
    body = rows(overrides={("Data Office", "naming"): {"Evidence": "CTRL-EVIDENCE", "Comment": "CTRL-TEAM-NOTE"}})
    return rezip(xlsx(body), {"xl/worksheets/sheet1.xml": poison, "xl/sharedStrings.xml": poison})


def _formulas_with_results() -> bytes:
    def cache(part: bytes) -> bytes:
        # openpyxl writes formulas without results; put in the result Excel would have saved.
        return (part.replace(b"<f>1+2</f><v></v>", b"<f>1+2</f><v>3</v>")
                .replace(b'<c r="F2"><f>"Spot"&amp;" check"</f><v></v>',
                         b'<c r="F2" t="str"><f>"Spot"&amp;" check"</f><v>Spot check</v>'))
    body = rows(overrides={("Data Office", "naming"): {"Score": "=1+2", "Evidence": '="Spot"&" check"'}})
    return rezip(xlsx(body), {"xl/worksheets/sheet1.xml": cache})


def _macro_workbook() -> bytes:
    def macro_enabled(types: bytes) -> bytes:
        return (types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                              b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                .replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.'
                         b'vbaProject"/></Types>'))
    # The macro would run on opening in Excel; nothing here runs it.
    return rezip(xlsx(), {"[Content_Types].xml": macro_enabled},
                 add={"xl/vbaProject.bin": ole2(["VBA", "PROJECT"])})


def _merged_title(book: openpyxl.Workbook) -> None:
    ws = book.active
    ws.insert_rows(1)
    ws["A1"] = "KIM return, Digital, 2026-Q3"
    ws.merge_cells("A1:H1")


def _as_text(book: openpyxl.Workbook) -> None:
    # A cell typed as text that starts with "=": Excel shows it, never runs it.
    for row in book.active.iter_rows():
        for cell in row:
            if cell.value == _FORMULA_TEXT:
                cell.data_type = "s"


def _hidden_sheets(book: openpyxl.Workbook) -> None:
    lists = book.create_sheet("Lists")
    lists.append(["Not a team", "nonsense", 99])
    lists.sheet_state = "hidden"
    old = book.create_sheet("Old return")
    old.append(RETURN_HEADERS)
    old.append(["Corporate", "Digital", "No Such Team", "naming", 3, "", "", ""])
    old.sheet_state = "veryHidden"


def _data_only_on_hidden_sheet(book: openpyxl.Workbook) -> None:
    ws = book.active
    ws.title = "Return (old)"
    ws.sheet_state = "hidden"
    book.create_sheet("Guidance")


def _xls() -> bytes:
    book = xlwt.Workbook()
    ws = book.add_sheet("Return")
    for r, row in enumerate([RETURN_HEADERS, *rows()]):
        for c, value in enumerate(row):
            ws.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _ods_return() -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="odf") as writer:
        pd.DataFrame(rows(), columns=RETURN_HEADERS).to_excel(writer, sheet_name="Return", index=False)
    return buffer.getvalue()


# Zero-width space, word joiner, BOM, no-break and ideographic spaces: they draw nothing.
INVISIBLE = "\u200b\u2060\ufeff\u00a0 \u3000\u200b"
_RTL_EMOJI = "تم التحقق ✅ בדיקה 👩🏽‍💻 \u202eevil.exe\u202c 🇬🇧 — naïve café"
_HTML = "<script>alert('kim')</script><b>Checked</b> &amp; <img src=x onerror=alert(1)>"
_FORMULA_TEXT = "=cmd|' /C calc'!A0"
_LINK = "javascript:alert(document.cookie)"
_MULTILINE = 'Line one, with a comma\nLine two "quoted"\r\nLine three'
_LONG = ("Evidence " * 4000)[:32_767]


def _stored(team: str, cid: str, **fields: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(team, cid): fields}


CORPUS: dict[str, BadFile] = {f.name: f for f in [
    # The file is not a readable spreadsheet at all.
    BadFile("empty.xlsx", lambda: b"", says=("The file is empty",)),
    BadFile("blank-lines.csv", lambda: b" \r\n\t\n", says=("The file is empty",)),
    BadFile("truncated.xlsx", lambda: xlsx()[: len(xlsx()) // 2], says=("damaged or incomplete",)),
    BadFile("corrupt-deflate.xlsx", _corrupt_deflate, says=("damaged or incomplete",)),
    BadFile("bad-central-directory.xlsx", _bad_central_directory, says=("damaged or incomplete",)),
    BadFile("password.xlsx", lambda: ole2(["EncryptedPackage", "EncryptionInfo"]),
            says=("password-protected", "Remove the password")),
    BadFile("zip-bomb.xlsx", _zip_bomb, says=("zip bomb", "compressed more than 100 times")),
    BadFile("zip-bomb-lying-sizes.xlsx", _zip_bomb_lying, says=("damaged",)),
    BadFile("many-parts.xlsx", _many_parts, says=("1,2", "parts", "at most 1,000")),
    BadFile("billion-laughs.xlsx", _billion_laughs, says=("declares XML entities", "worksheets/sheet1.xml")),
    BadFile("external-entity.xlsx", _external_entity, says=("declares XML entities", "[Content_Types].xml")),
    BadFile("far-cell.xlsx", _far_cell, says=("300,000 rows", "at most 200,000"), where=("Return", None, None)),
    BadFile("wide-and-sparse.xlsx", _wide_and_sparse, says=("150,000 rows by 702 columns", "at most 10,000,000")),
    BadFile("ods-repeat-bomb.ods", _ods_repeat_bomb, says=("16,384 columns", "cells")),
    BadFile("shared-strings-bomb.xlsx", _shared_strings_bomb, says=("shared text", "200 MB")),
    BadFile("report.pdf.xlsx", lambda: _PDF, says=("not a spreadsheet", "PDF")),
    BadFile("letter.docx.xlsx", _docx, says=("not a spreadsheet", "Word document")),
    BadFile("photo.csv", lambda: _PNG, says=("not a spreadsheet", "PNG image")),
    BadFile("page.xls", lambda: b"<html><body><table><tr><td>Team</td></tr></table></body></html>",
            says=("not a spreadsheet", "web page")),
    BadFile("binary.xlsb", _xlsb, says=(".xlsb",)),
    BadFile("huge.csv", _huge_csv, says=("uploads are limited to 20 MB",)),
    BadFile("too-many-rows.csv", lambda: csv_bytes(rows() * 110), env={"KIM_MAX_ROWS_PER_SHEET": "1000"},
            says=("rows; a sheet may have at most 1,000",)),
    BadFile("cell-too-long-for-csv.csv",
            lambda: csv_bytes(rows(overrides={("Data Office", "naming"): {"Evidence": "y" * 200_000}})),
            says=("Line 2", "longer than 131,072 characters")),
    # Readable, but not a return that can be saved.
    BadFile("empty-sheet.xlsx", lambda: xlsx([], headers=None), says=("The file has no data",)),
    BadFile("headers-only.xlsx", lambda: xlsx([]), says=("headers but no rows",), where=("Return", 1, None)),
    BadFile("data-on-hidden-sheet.xlsx", lambda: xlsx(tweak=_data_only_on_hidden_sheet),
            says=("hidden", "Return (old)", "Unhide")),
    BadFile("wrong-columns.csv", lambda: csv_bytes([["a", "b"]], headers=["Name", "Marks"]),
            says=("Could not find the columns", "Missing: Team, Criterion, Score")),
    BadFile("duplicate-rows.xlsx", lambda: xlsx(rows() + rows()[:1]),
            says=("already has a score", "Keep one row per team"), where=("Return", 16, "Criterion")),
    BadFile("unknown-team.xlsx", lambda: xlsx(rows({"Data Ofice": FULL_MARKS})),
            says=("'Data Ofice' is not a team", "Did you mean 'Data Office'"), where=("Return", 2, "Team")),
    BadFile("unknown-criterion.xlsx",
            lambda: xlsx(rows(overrides={("Data Office", "naming"): {"Criterion": "Nameing"}})),
            says=("'Nameing' is not a criterion",), where=("Return", 2, "Criterion")),
    BadFile("score-out-of-range.xlsx", lambda: xlsx(rows(overrides={("Data Office", "naming"): {"Score": 7}})),
            says=("7 is not a level of 'Naming convention used'",), where=("Return", 2, "Score")),
    BadFile("negative-score.xlsx", lambda: xlsx(rows(overrides={("Web Team", "naming"): {"Score": -1}})),
            says=("-1 is not a level",), where=("Return", 9, "Score")),
    BadFile("percent-over-100.csv", lambda: csv_bytes(rows(overrides={("Data Office", "training"): {"Score": 150}})),
            says=("150 is outside 0-100",), where=(None, 7, "Score")),
    BadFile("dates-as-scores.xlsx",
            lambda: xlsx(rows(overrides={("Data Office", "naming"): {"Score": dt.date(2026, 3, 31)}})),
            says=("holds a date or time", "not a score"), where=("Return", 2, "Score")),
    BadFile("nan-and-infinity.csv",
            lambda: csv_bytes(rows(overrides={("Data Office", "naming"): {"Score": "nan"},
                                              ("Data Office", "training"): {"Score": "1e999"}})),
            says=("is not a", "score"), where=(None, 2, "Score")),
    BadFile("formula-without-result.xlsx",
            lambda: xlsx(rows(overrides={("Data Office", "naming"): {"Score": "=1+2"}})),
            says=("The score is empty",), where=("Return", 2, "Score")),
    BadFile("missing-criterion.xlsx", lambda: xlsx(rows()[:-1]),
            says=("'Web Team' has no score for 'Legacy",)),
    BadFile("evidence-too-long.csv",
            lambda: csv_bytes(rows(overrides={("Data Office", "naming"): {"Evidence": "z" * 40_000}})),
            says=("40,000 characters", "at most 32,767"), where=(None, 2, "Evidence")),
    BadFile("long-team-name.xlsx", lambda: xlsx(rows({"Data Office " + "x" * 300: FULL_MARKS})),
            says=("is not a team",), where=("Return", 2, "Team")),
    # Issue 10: small files that would take the whole machine's memory to open.
    BadFile("fifty-sheets-to-the-corner.xls", _xls_sheets_to_the_corner,
            says=("65,536 rows by 256 columns", "a sheet may span at most 10,000,000 cells"),
            where=("Sheet 1", None, None)),
    BadFile("forty-sheets-far-down.xlsx", _xlsx_sheets_far_down,
            says=("40 sheets", "together span 399,998,000 cells", "a workbook may span at most 5,000,000")),
    BadFile("upside-down-dimensions.xls", _xls_upside_down_dimensions,
            says=("DIMENSIONS", "4,294,967,201 rows", "at most 200,000 rows"), where=("Return", None, None)),
    BadFile("shared-strings-count-lie.xls", _xls_shared_strings_lie, says=("damaged or incomplete",)),
    BadFile("mixed-encodings.csv", _mixed_encodings_csv,
            says=("mixes two text encodings", "line 2 is UTF-8", "line 9 is not", "CSV UTF-8")),
    # Awkward, and accepted: text is kept exactly as typed.
    BadFile("emoji-and-right-to-left.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Data Office", "naming"): {"Evidence": _RTL_EMOJI,
                                                                           "Comment": "👍🏿 ok"}})),
            stored=_stored("Data Office", "naming", evidence=_RTL_EMOJI, comment="👍🏿 ok")),
    BadFile("html-and-script.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Data Office", "naming"): {
                "Evidence": _HTML, "Comment": _FORMULA_TEXT, "Evidence link": _LINK}}), tweak=_as_text),
            stored=_stored("Data Office", "naming", evidence=_HTML, comment=_FORMULA_TEXT, evidence_link=_LINK)),
    BadFile("control-characters.xlsx", _control_characters_xlsx, accepted=True,
            stored=_stored("Data Office", "naming", evidence=_CTRL_CLEAN, comment="Checked twice")),
    BadFile("control-characters.csv", accepted=True,
            build=lambda: csv_bytes(rows(overrides={("Data Office", "naming"): {"Evidence": _CTRL_TEXT}})),
            stored=_stored("Data Office", "naming", evidence=_CTRL_CLEAN)),
    # Evidence that draws nothing is no evidence: stored empty, so the claim counts as the lowest level.
    BadFile("invisible-evidence.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Web Team", "naming"): {"Evidence": INVISIBLE,
                                                                        "Evidence link": "\u2060\u200b"}})),
            stored=_stored("Web Team", "naming", evidence="", evidence_link="")),
    BadFile("formulas-with-results.xlsx", _formulas_with_results, accepted=True,
            # The result Excel saved is used (calamine reads it as a number); nothing is evaluated.
            stored=_stored("Data Office", "naming", evidence="Spot check", claimed_raw="3.0")),
    BadFile("macro.xlsm", _macro_workbook, accepted=True, fmt="xlsm"),
    BadFile("merged-title.xlsx", lambda: xlsx(tweak=_merged_title), accepted=True),
    BadFile("hidden-sheets.xlsx", lambda: xlsx(tweak=_hidden_sheets), accepted=True),
    BadFile("long-evidence.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Web Team", "training"): {"Evidence": _LONG}})),
            stored=_stored("Web Team", "training", evidence=_LONG)),
    BadFile("cp1252-semicolons.csv", accepted=True,
            build=lambda: csv_bytes(rows(evidence="£250 café audit, naïve"), encoding="cp1252", delimiter=";"),
            stored=_stored("Data Office", "naming", evidence="£250 café audit, naïve")),
    BadFile("utf16-tabs.csv", accepted=True, build=lambda: csv_bytes(encoding="utf-16", delimiter="\t"),
            stored=_stored("Web Team", "legacy_review", evidence=EVIDENCE)),
    BadFile("utf8-bom-pipes.csv", accepted=True, build=lambda: csv_bytes(delimiter="|", bom=True),
            stored=_stored("Web Team", "naming", evidence=EVIDENCE)),
    BadFile("multiline-evidence.csv", accepted=True,
            build=lambda: csv_bytes(rows(overrides={("Data Office", "naming"): {"Evidence": _MULTILINE}})),
            stored=_stored("Data Office", "naming", evidence=_MULTILINE)),
    BadFile("workbook-named.csv", lambda: xlsx(), accepted=True, fmt="xlsx"),
    BadFile("text-named.xlsx", lambda: csv_bytes(), accepted=True, fmt="csv"),
    BadFile("legacy.xls", _xls, accepted=True, fmt="xls"),
    BadFile("libreoffice.ods", _ods_return, accepted=True, fmt="ods"),
    # A score means what the person typed: a label matches only as a whole, never on its end.
    BadFile("label-partly-not-fully-embedded.xlsx",
            lambda: xlsx(rows(overrides={("Data Office", "naming"): {
                "Score": "Partly in place (not fully embedded)"}})),
            says=("is not a score for 'Naming convention used'", "Fully embedded"),
            where=("Return", 2, "Score")),
    BadFile("label-not-yet-fully-embedded.csv",
            lambda: csv_bytes(rows(overrides={("Data Office", "what_to_keep"): {
                "Score": "Not yet fully embedded"}})),
            says=("'Not yet fully embedded' is not a score", "Mostly in place"), where=(None, 4, "Score")),
    BadFile("label-no-longer-fully-embedded.xlsx",
            lambda: xlsx(rows(overrides={("Web Team", "legacy_review"): {
                "Score": "No longer fully embedded"}})),
            says=("'No longer fully embedded' is not a score", "Not started"), where=("Return", 15, "Score")),
    # Text with a % sign is that many percent: "0.99%" is under one percent, not 99.
    BadFile("percent-sign-below-one.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Data Office", "training"): {"Score": "0.99%"},
                                               ("Web Team", "training"): {"Score": "0.5%"}})),
            stored={**_stored("Data Office", "training", claimed_raw="0.99%"),
                    **_stored("Web Team", "training", claimed_raw="0.5%")}),
    # Percentage-formatted cells hold fractions (Excel keeps 85 % as 0.85): still 85.
    BadFile("percent-cells.xlsx", accepted=True,
            build=lambda: xlsx(rows(overrides={("Data Office", "training"): {"Score": 1.0},
                                               ("Web Team", "training"): {"Score": 0.85}}),
                               tweak=lambda book: [setattr(book.active[f"E{r}"], "number_format", "0%")
                                                   for r in (7, 14)])),
]}


# --- organisation workbooks and criteria files (issue 10, points 3, 9 and 12) -------------------
#
# The KIM team loads these with `kim org load` and `kim criteria load` (or the admin page). Each
# is refused with a located message and leaves the database byte-for-byte unchanged.

ORG_HEADERS = ["Group", "Directorate", "Team", "Director", "Information managers"]
LONG_DIRECTORATE = "Directorate of " + "Very " * 55 + "Long Names"      # 300 characters


@dataclass(frozen=True)
class BadAdminFile:
    name: str
    kind: str                          # "org" or "criteria"
    build: Callable[[], bytes]
    says: tuple[str, ...]              # words the refusal must contain
    where: tuple[int | None, str | None] | None = None   # (row, column) one problem must point at


def org_xlsx(body: list[list[object]]) -> bytes:
    return xlsx([["Corporate", "Finance", "Payroll", "pay.dir@dept.gov.uk", "im.pay@dept.gov.uk"], *body],
                headers=ORG_HEADERS, sheet="Organisation")


def criteria_bytes(old: str, new: str) -> bytes:
    from kim_metrics.domain.criteria import DEFAULT_CRITERIA_PATH
    text = DEFAULT_CRITERIA_PATH.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1).encode("utf-8")


ADMIN_CORPUS: dict[str, BadAdminFile] = {f.name: f for f in [
    # Point 9: names behave on every backend.
    BadAdminFile("org-300-character-directorate.xlsx", "org",
                 lambda: org_xlsx([["Corporate", LONG_DIRECTORATE, "Records", "", ""]]),
                 says=("300 characters long", "the most is 200"), where=(3, "Directorate")),
    BadAdminFile("org-300-character-team.csv", "org",
                 lambda: csv_bytes([["Corporate", "Finance", "T" * 300, "", ""]], headers=ORG_HEADERS),
                 says=("team name is 300 characters",), where=(2, "Team")),
    BadAdminFile("org-three-spellings.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "Digital Services", "Web", "", ""],
                                   ["Corporate", "Digital-Services", "Data", "", ""],
                                   ["Corporate", "digital services", "Platforms", "", ""]]),
                 says=("same directorate as 'Digital Services' on row 3", "Spell it the same way"),
                 where=(4, "Directorate")),
    BadAdminFile("org-full-width-spelling.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "\uff26\uff49\uff4e\uff41\uff4e\uff43\uff45", "Audit",
                                    "", ""]]),
                 says=("same directorate as 'Finance' on row 2",), where=(3, "Directorate")),
    BadAdminFile("org-no-letters.xlsx", "org", lambda: org_xlsx([["Corporate", "Finance", "★★★", "", ""]]),
                 says=("has no letters or digits",), where=(3, "Team")),
    BadAdminFile("org-direction-override.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "Finance", "Audit\u202eetirw", "", ""]]),
                 says=("invisible control characters",), where=(3, "Team")),
    # Point 3: every email in the workbook is an address nobody can borrow.
    BadAdminFile("org-kelvin-sign-director.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "Policy", "Tax", "\u212aIM.LEAD@dept.gov.uk", ""]]),
                 says=("Unicode normalisation",), where=(3, "Director")),
    BadAdminFile("org-local-admin-im.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "Policy", "Tax", "", "im@dept.gov.uk; LOCAL-ADMIN"]]),
                 says=("reserved",), where=(3, "Information managers")),
    BadAdminFile("org-markdown-image-email.xlsx", "org",
                 lambda: org_xlsx([["Corporate", "Policy", "Tax", "![a](https://evil.example/p.png)@x.gov.uk",
                                    ""]]),
                 says=("is not an email address",), where=(3, "Director")),
    BadAdminFile("org-look-alike-domain.csv", "org",
                 lambda: csv_bytes([["Corporate", "Policy", "Tax", "kim.lead@d\u0435pt.gov.uk", ""]],
                                   headers=ORG_HEADERS),
                 says=("outside plain ASCII in its domain",), where=(2, "Director")),
    # Point 12: criteria weights and encodings.
    *[BadAdminFile(f"criteria-weight-{label}.toml", "criteria",
                   (lambda value=value: criteria_bytes("weight = 1.5", f"weight = {value}")),
                   says=("weight must be a number above 0 and at most 1000",))
      for label, value in [("zero", "0"), ("negative", "-1"), ("nan", "nan"), ("infinite", "inf"),
                           ("over-1000", "1000.5"), ("huge", "1e308"), ("text", '"heavy"'),
                           ("true", "true")]],
    BadAdminFile("criteria-latin-1.toml", "criteria",
                 lambda: criteria_bytes("corporate naming convention,", "corporate naming convention (caf\u00e9),").decode("utf-8").encode("latin-1"),
                 says=("not UTF-8",)),
    BadAdminFile("criteria-utf-16.toml", "criteria",
                 lambda: criteria_bytes("weight = 1.5", "weight = 1.5").decode("utf-8").encode("utf-16"),
                 says=("not UTF-8",)),
]}


def build_corpus(folder: Path) -> dict[str, Path]:
    """Write every corpus file into ``folder``; name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, entry in CORPUS.items():
        path = folder / name
        path.write_bytes(entry.build())
        paths[name] = path
    return paths


# --- comparing databases -----------------------------------------------------------------------

def database_dump(engine: Engine) -> list:
    """Everything the database holds, in a form two dumps can be compared by.

    SQLite: the file's SQL dump, which also catches changes to the schema. PostgreSQL: every
    table's rows, ordered by primary key.
    """
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(engine.url.database) as conn:
            return list(conn.iterdump())
    out = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out.append((table.name, conn.execute(select(table).order_by(*table.primary_key.columns)).all()))
        out.append(("alembic_version", conn.execute(text("SELECT version_num FROM alembic_version")).all()))
    return out
