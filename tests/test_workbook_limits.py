"""Memory is bounded for the whole workbook before calamine builds anything (issue 10, point 1).

Every format's sheets are measured from the file's own records: the cells and DIMENSIONS
records of an .xls, the cell references of an .xlsx, the repeats of an .ods. Each sheet, the
number of sheets and the cells of all of them together are judged before calamine opens the
file; calamine builds every sheet of an .xls or .ods as it opens it.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import olefile
import openpyxl
import pandas as pd
import pytest
import xlwt

from kim_metrics.domain.errors import KimError, ReadError
from kim_metrics.reading import extent, limits
from kim_metrics.reading.reader import read_workbook
from tests.support import badfiles

PROJECT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

# Reads one file in a fresh interpreter and reports its own peak memory. Linux carries the
# high-water mark of the address space a process replaces across exec into its ru_maxrss, so
# a child of a big test process would report its parent's peak; the child's VmHWM counts
# only its own address space.
# The address-space cap is a safety net: should the checks ever miss, calamine's allocation
# fails and the child dies, instead of the machine running out of memory.
_CHILD = """
import json, re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from kim_metrics.domain.errors import ReadError
from kim_metrics.reading.reader import read_workbook
try:
    read_workbook(sys.argv[1])
    outcome = None
except ReadError as exc:
    outcome = str(exc)
with open("/proc/self/status") as status:
    peak_kb = int(re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1))
print(json.dumps({"refused": outcome, "peak_mb": peak_kb / 1024}))
"""


@pytest.mark.parametrize("name", ["fifty-sheets-to-the-corner.xls", "forty-sheets-far-down.xlsx"])
def test_the_issue_files_are_refused_in_bounded_memory(tmp_path: Path, name: str) -> None:
    entry = badfiles.CORPUS[name]
    path = tmp_path / name
    path.write_bytes(entry.build())
    assert path.stat().st_size < 30_000
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["refused"] is not None
    for words in entry.says:
        assert words in report["refused"]
    assert report["peak_mb"] < 500, report


# --- the same workbook in every format, measured exactly ---------------------------------------

def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, body in sheets.items():
        ws = book.create_sheet(name)
        for row in body:
            ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xls(sheets: dict[str, list[list[object]]]) -> bytes:
    book = xlwt.Workbook()
    for name, body in sheets.items():
        ws = book.add_sheet(name)
        for r, row in enumerate(body):
            for c, value in enumerate(row):
                ws.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _ods(sheets: dict[str, list[list[object]]]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="odf") as writer:
        for name, body in sheets.items():
            pd.DataFrame(body).to_excel(writer, sheet_name=name, index=False, header=False)
    return buffer.getvalue()


WRITERS: dict[str, Callable[[dict[str, list[list[object]]]], bytes]] = {
    "xlsx": _xlsx, "xls": _xls, "ods": _ods}
# Two sheets: 120 rows by 8 columns, and 35 rows by 3 (row 35 reaching column C).
TWO_SHEETS = {"Return": [[f"r{r}c{c}" for c in range(8)] for r in range(120)],
              "Lists": [["Green", "Amber", "Red"]] * 35}
TWO_SHEETS_CELLS = 120 * 8 + 35 * 3


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_the_workbook_total_is_exact_in_every_format(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = WRITERS[fmt](TWO_SHEETS)
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", str(TWO_SHEETS_CELLS))
    assert [len(s.rows) for s in read_workbook(data, file_name=f"r.{fmt}").sheets] == [120, 35]
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", str(TWO_SHEETS_CELLS - 1))
    with pytest.raises(ReadError) as caught:
        read_workbook(data, file_name=f"r.{fmt}")
    message = str(caught.value)
    assert f"The 2 sheets of this workbook together span {TWO_SHEETS_CELLS:,} cells" in message
    assert "the largest, 'Return', spans 960" in message
    assert f"a workbook may span at most {TWO_SHEETS_CELLS - 1:,} cells" in message


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_too_many_sheets_are_refused_in_every_format(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = WRITERS[fmt]({f"Sheet {i}": [["Team"]] for i in range(1, 5)})
    monkeypatch.setenv("KIM_MAX_SHEETS", "4")
    assert len(read_workbook(data, file_name=f"r.{fmt}").sheets) == 4
    monkeypatch.setenv("KIM_MAX_SHEETS", "3")
    with pytest.raises(ReadError, match="This workbook has 4 sheets; a workbook may have at most 3. "
                                        "Copy the sheets of the return into a new workbook"):
        read_workbook(data, file_name=f"r.{fmt}")


def test_new_limits_have_defaults_well_above_a_return_and_env_overrides(
        monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = limits.current_limits()
    assert defaults.sheets == 200 and defaults.workbook_cells == 5_000_000
    # The benchmark's department-wide return, 350,001 rows by 8 columns, fits with only the
    # rows-per-sheet limit raised.
    assert 350_001 * 8 <= defaults.workbook_cells
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", "20_000_000")
    monkeypatch.setenv("KIM_MAX_SHEETS", "12")
    assert limits.current_limits().workbook_cells == 20_000_000
    assert limits.current_limits().sheets == 12
    monkeypatch.setenv("KIM_MAX_SHEETS", "-1")
    with pytest.raises(KimError, match=r"KIM_MAX_SHEETS='-1' is not a positive number. Set it to the most "
                                       r"sheets a workbook may have \(default 200\)"):
        limits.current_limits()


# --- .xls: the records calamine reads ---------------------------------------------------------

def _xls_corners(sheets: int, last_row: int, last_col: int) -> bytes:
    return _xls_cells({f"Sheet {i}": [(0, 0, "Team"), (last_row, last_col, 1)] for i in range(1, sheets + 1)})


def _xls_cells(sheets: dict[str, list[tuple[int, int, object]]]) -> bytes:
    book = xlwt.Workbook()
    for name, cells in sheets.items():
        ws = book.add_sheet(name)
        for row, col, value in cells:
            ws.write(row, col, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xls_sheets_within_the_sheet_limit_are_refused_together() -> None:
    # Each 15,000 rows by 256 columns (3.8 million cells): calamine would build both at once.
    with pytest.raises(ReadError, match="The 2 sheets of this workbook together span 7,680,000 cells"):
        read_workbook(_xls_corners(2, 14_999, 255), file_name="two.xls")


def test_one_sheet_over_the_workbook_limit_is_named() -> None:
    with pytest.raises(ReadError, match="sheet 'Sheet 1': This sheet spans 30,000 rows by 256 columns "
                                        r"\(7,680,000 cells\); a workbook may span at most 5,000,000 cells"):
        read_workbook(_xls_corners(1, 29_999, 255), file_name="one.xls")


def test_xls_formula_and_multiple_number_cells_count_as_calamine_places_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A formula's cell (G50) and a run of numbers in one MULRK record (up to column K, row 10).
    data = _xls_cells({"Return": [(0, 0, "Team"), (49, 6, xlwt.Formula("1+2")),
                                  *[(9, c, 1000 + c) for c in range(2, 11)]]})
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", str(50 * 11))
    rows = read_workbook(data, file_name="f.xls").sheets[0].rows
    assert (len(rows), len(rows[0])) == (50, 11)
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", str(50 * 11 - 1))
    with pytest.raises(ReadError, match=r"This sheet spans 50 rows by 11 columns \(550 cells\); a workbook "
                                        "may span at most 549 cells"):
        read_workbook(data, file_name="f.xls")


def test_xls_dimensions_record_is_judged_before_calamine_reserves_it() -> None:
    with pytest.raises(ReadError, match=r"size record \(DIMENSIONS\) declares 4,294,967,201 rows by 8 columns"):
        read_workbook(badfiles.CORPUS["upside-down-dimensions.xls"].build(), file_name="d.xls")


@pytest.mark.parametrize(("copies", "refused"), [(34, False), (35, True)])
def test_xls_shared_text_is_counted_to_the_character(copies: int, refused: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # One 30,000-character string of two-byte characters: its shared-strings record runs on
    # into several CONTINUE records. 35 copies are 1,050,000 characters, just over 1 MB.
    text = "€" * 30_000
    data = _xls_cells({"Return": [(r, 0, text) for r in range(copies)]})
    monkeypatch.setenv("KIM_MAX_SHARED_TEXT_MB", "1")
    if not refused:
        assert read_workbook(data, file_name="s.xls").sheets[0].rows[-1] == [text]
        return
    with pytest.raises(ReadError, match="repeat its shared text so often that it would take more than 1 MB"):
        read_workbook(data, file_name="s.xls")


def _records(stream: bytes) -> list[tuple[int, int]]:
    """(type, offset) of every BIFF record of a workbook stream."""
    found, pos = [], 0
    while pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        found.append((typ, pos))
        pos += 4 + size
    return found


def test_xls_sheets_that_overlap_are_refused_before_they_are_walked_again_and_again() -> None:
    # 99 sheets listed, each starting one record further into the same 2,000 cells: walked
    # one by one, each would run to the end of those cells.
    book = xlwt.Workbook()
    ws = book.add_sheet("Return")
    for r in range(2_000):
        ws.write(r, 0, r)
    for i in range(2, 100):
        book.add_sheet(f"S{i}")
    buffer = io.BytesIO()
    book.save(buffer)
    data = bytearray(buffer.getvalue())
    stream = olefile.OleFileIO(io.BytesIO(bytes(data))).openstream("Workbook").read()
    at = bytes(data).index(stream[:4096])    # xlwt writes the stream in one piece
    records = _records(stream)
    bound = [pos for typ, pos in records if typ == 0x0085]
    first = int.from_bytes(stream[bound[0] + 4:bound[0] + 8], "little")
    starts = [pos for _, pos in records if pos >= first]
    for i, pos in enumerate(bound):
        data[at + pos + 4:at + pos + 8] = starts[i].to_bytes(4, "little")
    assert len(bound) == 99
    with pytest.raises(ReadError, match="damaged or incomplete"):
        read_workbook(bytes(data), file_name="overlap.xls")


# --- .xlsx: cell references and the sheet list --------------------------------------------------

def test_one_sheet_part_listed_many_times_counts_each_time() -> None:
    # Calamine reads a part once for every sheet the workbook lists on it.
    data = _xlsx({"Return": [["Team"]]})
    data = badfiles.rezip(data, {"xl/worksheets/sheet1.xml": badfiles.sheet_xml(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Team</t></is></c></row>'
        b'<row r="50000"><c r="J50000"><v>1</v></c></row>')})

    def list_twelve_times(workbook: bytes) -> bytes:
        entry = re.search(rb"<sheet [^>]*/>", workbook).group(0)
        copies = b"".join(entry.replace(b'name="Return"', b'name="Copy %d"' % i)
                          .replace(b'sheetId="1"', b'sheetId="%d"' % (i + 1)) for i in range(1, 12))
        return workbook.replace(entry, entry + copies)

    with pytest.raises(ReadError, match="The 12 sheets of this workbook together span 6,000,000 cells"):
        read_workbook(badfiles.rezip(data, {"xl/workbook.xml": list_twelve_times}), file_name="twelve.xlsx")


def test_big_sheets_are_measured_exactly_when_their_bounds_would_not_fit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,200 rows each: one quick scan bounds each at 9,999 rows; the exact count is needed.
    body = [[f"r{r}", r] for r in range(1_200)]
    data = _xlsx({"A": body, "B": body, "C": body})
    monkeypatch.setenv("KIM_MAX_WORKBOOK_CELLS", str(3 * 1_200 * 2))
    assert [len(s.rows) for s in read_workbook(data, file_name="q.xlsx").sheets] == [1_200] * 3


@pytest.mark.parametrize("cells", [
    b'<c r="A1"><v>1</v></c><c r="H70001"><v>2</v></c>',
    b'<c r="A1"><v>1</v></c><c r="H70001"><v>2</v></c><c r="C5"><v>3</v></c>',
    b'<c r="B9"><v>1</v></c><c r="Z99999" s="1"/><c r="D12"><v>2</v></c>',
    b'<c r="a1"><v>1</v></c><c r="Q3"><v>2</v></c><c r="B1"><v>3</v></c>',
    b'<c r="A7"><v>1</v></c>',
])
def test_the_quick_bound_is_never_below_the_walk(cells: bytes) -> None:
    part = b"<sheetData><row>" + cells + b"</row></sheetData>"
    walked = extent._walked_extent(part)
    bound = extent.quick_xlsx_extent(part)
    assert bound is None or (bound[0] >= walked[0] and bound[1] == walked[1])
    assert extent.xlsx_sheet_extent(part, "R", "f.xlsx", limits.current_limits()) == walked


# --- .ods -----------------------------------------------------------------------------------

def test_ods_sheets_add_up_with_their_repeats() -> None:
    # Three sheets of 2,000 rows by 2,000 columns, written as repeats: 12 million cells, each
    # sheet within the limits of one.
    table = ('<table:table-row table:number-rows-repeated="2000"><table:table-cell '
             'table:number-columns-repeated="2000" office:value-type="float" office:value="1">'
             "<text:p>1</text:p></table:table-cell></table:table-row>")
    data = badfiles.ods({"One": table, "Two": table, "Three": table})
    with pytest.raises(ReadError, match="The 3 sheets of this workbook together span 12,000,000 cells"):
        read_workbook(data, file_name="repeats.ods")


def test_the_last_guard_counts_sheets_as_calamine_gives_them() -> None:
    tally = limits.WorkbookTally("late.xlsx", limits.current_limits())
    tally.add("Return", 100_000, 26)
    tally.add("Lists", 90_000, 26)
    with pytest.raises(ReadError, match="The 3 sheets of this workbook together span 5,005,000 cells"):
        tally.add("Notes", 2_500, 26)
