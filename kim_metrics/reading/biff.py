"""The extent of an old Excel workbook (.xls) before calamine opens it.

Calamine reads an .xls whole as it opens it: the grid of every sheet is built before any sheet
is asked for, sized by the sheet's DIMENSIONS record (a reservation) and by its furthest cell
with a value (the grid). Fifty sheets with a value in A1 and in IV65536 are 26 KB on disk and
27 GB in memory. So the workbook stream is walked here first, record by record, the way
calamine walks it, and every sheet's extent and the shared text its cells copy are judged by
``limits`` before calamine sees the file.

``olefile`` reads the OLE compound file around the workbook; the BIFF records inside are few
and simple, so they are read here (see [MS-XLS] 2.4).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import olefile

from kim_metrics.domain.errors import ProblemCode, ReadError
from kim_metrics.reading.limits import (DAMAGED, MB, PASSWORD, RESAVE, Limits, check_extent, check_sheet_count,
                                        check_workbook, too_much_shared_text)

_EOF, _BOF, _BOUNDSHEET, _FILEPASS = 0x000A, 0x0809, 0x0085, 0x002F
_SST, _CONTINUE, _DIMENSIONS = 0x00FC, 0x003C, 0x0200
_LABELSST, _MULRK = 0x00FD, 0x00BD
# The records calamine makes a cell of, with the least length it accepts: Number, Label,
# BoolErr, RK, LabelSst and Formula (a formula's cell is kept in a grid of its own, sized the
# same way). Blank cells (Blank, MulBlank) are not read.
_CELLS = {0x0203: 14, 0x0204: 6, 0x0205: 8, 0x027E: 10, _LABELSST: 10, 0x0006: 20}
_PAIR = struct.Struct("<HH")
# BOF versions of Excel 95 and before, whose sheet names are byte strings.
_OLDER_BIFF = (0x0500, 0x0400, 0x0300, 0x0200, 0x0002, 0x0007)
_U32 = 1 << 32


def ole_streams(data: bytes, file_name: str) -> set[str]:
    """The names (lower case) of the streams at the top of an OLE compound file."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    except Exception as exc:  # olefile reports a malformed container through many types
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc


def _workbook_stream(data: bytes, file_name: str) -> bytes:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            name = "Workbook" if ole.exists("Workbook") else "Book"
            return ole.openstream(name).read()
    except Exception as exc:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE) from exc


@dataclass
class _Sheet:
    name: str
    declared: tuple[int, int] = (0, 0)   # rows, columns the DIMENSIONS records reserve
    rows: int = 0                        # the grid: last row and column with a cell, 1-based
    columns: int = 0
    shared_cells: int = 0                # cells that copy a shared string


def check_xls(data: bytes, file_name: str, limits: Limits) -> None:
    """Refuse an .xls whose sheets are too many or too big, alone or together, or whose cells
    copy too much shared text. Raises ``ReadError`` with a message saying what to do."""
    stream = _workbook_stream(data, file_name)
    places, sst = _globals(stream, file_name)
    check_sheet_count(file_name, len(places), limits)
    walked = 0
    measured: dict[int, _Sheet] = {}
    sheets = []
    for pos, name in places:
        if pos not in measured:
            measured[pos], end = _measure(stream, pos, name)
            walked += end - pos
        sheet = measured[pos]
        check_extent(file_name, name, sheet.rows, sheet.columns, limits)
        _check_declared(file_name, name, *sheet.declared, limits)
        sheets.append(sheet)
        # Sheets never share records; walking the same records again and again is an attack
        # on the time this takes.
        if walked > 2 * len(stream) + 64 * 1024:
            raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE)
    check_workbook(file_name, [(name, s.rows, s.columns) for (_, name), s in zip(places, sheets)], limits)
    _check_shared_text(stream, places, sheets, sst, file_name, limits)


def _check_declared(file_name: str, sheet: str, rows: int, columns: int, limits: Limits) -> None:
    if rows > limits.rows_per_sheet or rows * columns > limits.cells_per_sheet:
        raise ReadError(file_name, f"This sheet's size record (DIMENSIONS) declares {rows:,} rows by "
                                   f"{columns:,} columns; a sheet may have at most "
                                   f"{limits.rows_per_sheet:,} rows and {limits.cells_per_sheet:,} cells. "
                                   "No return needs one so large: the file may be damaged or built to "
                                   "exhaust the server, so it was not opened. " + RESAVE, sheet=sheet,
                                   code=ProblemCode.TOO_LARGE)


def _records(stream: bytes, pos: int):
    """(type, start, end) of each record from ``pos``, as calamine frames them."""
    end_of_stream = len(stream)
    while pos + 4 <= end_of_stream:
        typ, size = _PAIR.unpack_from(stream, pos)
        start, pos = pos + 4, pos + 4 + size
        if pos > end_of_stream:
            return
        yield typ, start, pos


def _globals(stream: bytes, file_name: str) -> tuple[list[tuple[int, str]], list[bytes]]:
    """Where each sheet starts and its name, and the shared-strings record with its continuations."""
    places: list[tuple[int, str]] = []
    sst: list[bytes] = []
    biff8 = True
    in_sst = False
    for typ, start, end in _records(stream, 0):
        if in_sst and typ == _CONTINUE:
            sst.append(stream[start:end])
            continue
        in_sst = False
        if typ == _BOF and end - start >= 4:
            version, kind = _PAIR.unpack_from(stream, start)
            biff8 = version not in _OLDER_BIFF and not (version == 0 and kind == 0x1000)
        elif typ == _FILEPASS and end - start >= 2 and stream[start:start + 2] != b"\0\0":
            # The records after this one are encrypted.
            raise ReadError(file_name, PASSWORD, code=ProblemCode.PASSWORD_PROTECTED)
        elif typ == _BOUNDSHEET and end - start >= 6:
            places.append((int.from_bytes(stream[start:start + 4], "little"),
                           _sheet_name(stream[start + 6:end], biff8)))
        elif typ == _SST:
            sst, in_sst = [stream[start:end]], True
        elif typ == _EOF:
            break
    return places, sst


def _sheet_name(data: bytes, biff8: bool) -> str:
    """A BoundSheet8 name, for messages only."""
    if not data:
        return "a sheet"
    length = data[0]
    if biff8 and len(data) > 1:
        wide = data[1] & 1
        text = data[2:2 + length * (2 if wide else 1)].decode("utf-16-le" if wide else "latin-1", "replace")
    else:
        text = data[1:1 + length].decode("cp1252", "replace")
    return text.replace("\0", "") or "a sheet"


def _measure(stream: bytes, pos: int, name: str) -> tuple[_Sheet, int]:
    """One sheet's records, from its position to its end-of-file record, as calamine reads them;
    and where the walk ended."""
    sheet = _Sheet(name)
    max_row = max_col = -1
    declared_rows = declared_cols = 0
    end = pos
    for typ, start, end in _records(stream, pos):
        size = end - start
        if typ in _CELLS:
            if size >= _CELLS[typ]:
                row, col = _PAIR.unpack_from(stream, start)
                max_row, max_col = max(max_row, row), max(max_col, col)
                sheet.shared_cells += typ == _LABELSST
        elif typ == _MULRK and size >= 6:
            row, first = _PAIR.unpack_from(stream, start)
            last = int.from_bytes(stream[end - 2:end], "little")
            max_row, max_col = max(max_row, row), max(max_col, first, last)
        elif typ == _DIMENSIONS and size in (10, 14):
            rows, cols = _declared(stream[start:end])
            declared_rows, declared_cols = max(declared_rows, rows), max(declared_cols, cols)
        elif typ == _EOF:
            break
    sheet.declared = (declared_rows, declared_cols)
    sheet.rows, sheet.columns = max_row + 1, max_col + 1
    return sheet, end


def _declared(data: bytes) -> tuple[int, int]:
    """The rows and columns calamine reserves for a DIMENSIONS record: its own arithmetic, in
    32-bit numbers that wrap, so an upside-down record asks for four billion rows."""
    if len(data) == 10:
        first_row, end_row, first_col, end_col = struct.unpack_from("<HHHH", data)
    else:
        first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH", data)
    if end_row < 1 or end_col < 1:
        return 1, 1
    return (end_row - 1 - first_row + 1) % _U32, (end_col - 1 - first_col + 1) % _U32


def _check_shared_text(stream: bytes, places: list[tuple[int, str]], sheets: list[_Sheet],
                       sst: list[bytes], file_name: str, limits: Limits) -> None:
    """Every cell that points at a shared string gets its own copy of it; bound the copies."""
    if not sst:
        return
    budget = limits.shared_text_mb * MB
    sst_bytes = sum(map(len, sst))
    count = int.from_bytes(sst[0][4:8], "little", signed=True) if len(sst[0]) >= 8 else 0
    # Calamine makes room for every string the record declares before reading one; each
    # takes at least three bytes, so more than the record can hold is a lie.
    if count < 0 or count * 3 > sst_bytes:
        raise ReadError(file_name, DAMAGED, code=ProblemCode.FILE_UNREADABLE)
    # A string is at most 65,535 characters and at most as long as the record holding it.
    longest = min(0xFFFF, sst_bytes)
    if sum(s.shared_cells for s in sheets) * longest <= budget:
        return
    lengths = _string_lengths(sst, count)
    charged = 0
    seen: dict[int, int] = {}
    for pos, _ in places:
        if pos not in seen:
            seen[pos] = _shared_text(stream, pos, lengths)
        charged += seen[pos]
        if charged > budget:
            raise too_much_shared_text(file_name, limits)


def _shared_text(stream: bytes, pos: int, lengths: list[int]) -> int:
    """The characters one sheet's cells copy from the shared strings."""
    n = len(lengths)
    total = 0
    for typ, start, end in _records(stream, pos):
        if typ == _LABELSST and end - start >= 10:
            index = int.from_bytes(stream[start + 6:start + 10], "little")
            total += lengths[index] if index < n else 0
        elif typ == _EOF:
            break
    return total


def _string_lengths(chunks: list[bytes], count: int) -> list[int]:
    """The length in characters of each shared string (XLUnicodeRichExtendedString).

    A string's characters may run on into the next CONTINUE record, which then starts with a
    byte saying whether they are one or two bytes wide; its formatting runs and phonetic data
    may run on without that byte.
    """
    lengths: list[int] = []
    index, pos = 0, 8
    chunk = chunks[0]
    for _ in range(count):
        if pos >= len(chunk):
            index += 1
            if index >= len(chunks):
                break
            chunk, pos = chunks[index], 0
        if pos + 3 > len(chunk):
            break
        chars, flags = int.from_bytes(chunk[pos:pos + 2], "little"), chunk[pos + 2]
        pos += 3
        extra = 0
        if flags & 0x8:
            extra += 4 * int.from_bytes(chunk[pos:pos + 2], "little")
            pos += 2
        if flags & 0x4:
            extra += int.from_bytes(chunk[pos:pos + 4], "little")
            pos += 4
        left, width = chars, 2 if flags & 1 else 1
        while left:
            taken = min(left, max(0, len(chunk) - pos) // width)
            left -= taken
            pos += taken * width
            if left:
                index += 1
                if index >= len(chunks) or not chunks[index]:
                    return [*lengths, chars]
                chunk = chunks[index]
                width, pos = 2 if chunk[0] & 1 else 1, 1
        while extra:
            taken = min(extra, max(0, len(chunk) - pos))
            extra -= taken
            pos += taken
            if extra:
                index += 1
                if index >= len(chunks):
                    return [*lengths, chars]
                chunk, pos = chunks[index], 0
        lengths.append(chars)
    return lengths
