"""Tests for kim_metrics.reader: every accepted format read back cell for cell, and every kind
of bad file turned into a ReadError that names the file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
import pandas as pd
import pytest
import xlwt

from kim_metrics.domain.errors import ReadError
from kim_metrics.reading.reader import Sheet, Workbook, detect_format, read_workbook
from tests.support.badfiles import ole2

REALDATA = Path("/work/shared/realdata")

HEADER = ["Group", "Directorate", "Team", "Criterion", "Score", "Evidence"]
DATE = dt.date(2024, 3, 31)
# An int, a float, a percentage stored as 0.85, a date, and an empty cell (None).
TABLE: list[list[object]] = [
    HEADER,
    ["Corporate", "Digital", "Data Office", "Records management", 4, "Policy v2, signed off"],
    ["Corporate", "Digital", "Web Team", "Information assets", 2.5, None],
    ["Operations", "Estates", "Facilities", "Training", 0.85, DATE],
]
# The same table as a CSV reads it: every cell is text.
CSV_TABLE: list[list[object]] = [
    HEADER,
    ["Corporate", "Digital", "Data Office", "Records management", "4", "Policy v2, signed off"],
    ["Corporate", "Digital", "Web Team", "Information assets", "2.5", None],
    ["Operations", "Estates", "Facilities", "Training", "0.85", "2024-03-31"],
]


# --- writers -------------------------------------------------------------------------------

def _openpyxl_book(top: int = 1, left: int = 1) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Return"
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            if value is None:
                continue
            cell = sheet.cell(row=top + r, column=left + c, value=value)
            if value == 0.85:
                cell.number_format = "0%"
            elif isinstance(value, dt.date):
                cell.number_format = "dd/mm/yyyy"
    return book


def write_xlsx(path: Path, top: int = 1, left: int = 1) -> Path:
    _openpyxl_book(top, left).save(path)
    return path


def write_xlsm_with_macros(path: Path) -> Path:
    """An openpyxl workbook turned macro-enabled: a vbaProject.bin part and the xlsm content type."""
    plain = io.BytesIO()
    _openpyxl_book().save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", ole2(["VBA", "PROJECT"]))
    return path


def write_xls(path: Path, top: int = 0, left: int = 0) -> Path:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Return")
    percent = xlwt.easyxf(num_format_str="0%")
    date = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            if value is None:
                continue
            style = percent if value == 0.85 else date if isinstance(value, dt.date) else xlwt.Style.default_style
            sheet.write(top + r, left + c, value, style)
    book.save(str(path))
    return path


def write_ods(path: Path, top: int = 0, left: int = 0) -> Path:
    frame = pd.DataFrame(TABLE[1:], columns=HEADER)
    with pd.ExcelWriter(path, engine="odf") as writer:
        frame.to_excel(writer, sheet_name="Return", index=False, startrow=top, startcol=left)
    return path


def write_csv(path: Path, *, encoding: str = "utf-8", delimiter: str = ",",
              rows: list[list[object]] = CSV_TABLE) -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows([["" if v is None else v for v in row] for row in rows])
    return path


def assert_table(sheet: Sheet, expected: list[list[object]], top: int = 0, left: int = 0) -> None:
    rows = sheet.rows
    for r in range(top):
        assert all(v is None for v in rows[r]), f"row {r + 1} should be blank"
    for r, want in enumerate(expected):
        got = rows[top + r]
        assert all(v is None for v in got[:left])
        assert got[left:left + len(want)] == want, f"spreadsheet row {top + r + 1}"
        assert all(v is None for v in got[left + len(want):])
    assert not rows[top + len(expected):]


# --- every format reads back the same table --------------------------------------------------

@pytest.mark.parametrize(("suffix", "writer", "fmt"), [
    ("xlsx", write_xlsx, "xlsx"),
    # openpyxl writes no macro parts, so by content this .xlsm is a plain workbook.
    ("xlsm", write_xlsx, "xlsx"),
    ("xlsm", write_xlsm_with_macros, "xlsm"),
    ("xls", write_xls, "xls"),
    ("ods", write_ods, "ods"),
])
def test_spreadsheet_formats_read_back_the_table(tmp_path: Path, suffix: str,
                                                 writer: Callable[[Path], Path], fmt: str) -> None:
    path = writer(tmp_path / f"return.{suffix}")

    book = read_workbook(path)

    assert book == Workbook(file_name=f"return.{suffix}", format=fmt, sheets=book.sheets)
    assert [s.name for s in book.sheets] == ["Return"]
    assert book.sheets[0].visible
    assert_table(book.sheets[0], TABLE)
    date_cell = book.sheets[0].rows[3][5]
    assert type(date_cell) is dt.date
    # Cells are raw values: a percentage is its stored fraction, never "85%".
    assert book.sheets[0].rows[3][4] == pytest.approx(0.85)


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8", ","),
    ("utf-8-sig", ","),
    ("utf-8", ";"),
    ("utf-8", "\t"),
    ("utf-8", "|"),
    ("cp1252", ","),
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-delimited.
    ("utf-16", "\t"),
])
def test_csv_variants_read_back_the_table(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = write_csv(tmp_path / "return.csv", encoding=encoding, delimiter=delimiter)

    book = read_workbook(path)

    assert book.format == "csv"
    assert [s.name for s in book.sheets] == ["return.csv"]
    assert_table(book.sheets[0], CSV_TABLE)


def test_csv_from_excel_on_windows_keeps_pound_and_accents(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, ["Corporate", "Café services", "Équipe", "Training", "3", "Budget £1,200"]]
    path = write_csv(tmp_path / "return.csv", encoding="cp1252", rows=rows)
    assert "£".encode("cp1252") in path.read_bytes()

    assert read_workbook(path).sheets[0].rows == rows


def test_semicolon_csv_with_decimal_commas_is_split_on_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "return.csv"
    path.write_text("Team;Criterion;Score\r\nWeb Team;Training;0,85\r\nData Office;Training;3,5\r\n")

    assert read_workbook(path).sheets[0].rows == [
        ["Team", "Criterion", "Score"], ["Web Team", "Training", "0,85"], ["Data Office", "Training", "3,5"],
    ]


def test_csv_ragged_rows_and_single_column_are_kept(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Team,Score,Evidence\nWeb Team,3\nData Office,4,doc,extra\n")
    single = tmp_path / "single.csv"
    single.write_text("Team\nWeb Team\n\nData Office\n")

    assert read_workbook(ragged).sheets[0].rows == [
        ["Team", "Score", "Evidence"], ["Web Team", "3"], ["Data Office", "4", "doc", "extra"],
    ]
    assert read_workbook(single).sheets[0].rows == [["Team"], ["Web Team"], [], ["Data Office"]]


def test_csv_with_a_stray_byte_cp1252_leaves_undefined_falls_back_to_latin1(tmp_path: Path) -> None:
    path = tmp_path / "return.csv"
    path.write_bytes(b"Team,Note\nWeb Team,caf\xe9 \x81\n")

    assert read_workbook(path).sheets[0].rows == [["Team", "Note"], ["Web Team", "café \x81"]]


def test_csv_mixing_utf8_and_cp1252_is_refused_naming_a_line_of_each(tmp_path: Path) -> None:
    # Rows from a Windows CSV pasted into a UTF-8 one: read either way, some would be garbled.
    path = tmp_path / "return.csv"
    path.write_bytes("Team,Note\nWeb Team,Café audit\nData Office,ok\n".encode()
                     + "Estates,£250 naïve\n".encode("cp1252"))

    with pytest.raises(ReadError) as caught:
        read_workbook(path)
    assert caught.value.problem.file == "return.csv"
    assert ("mixes two text encodings: line 2 is UTF-8, but line 4 is not (it looks like Windows-1252"
            in caught.value.problem.message)
    assert "save it as 'CSV UTF-8 (Comma delimited)'" in caught.value.problem.message


def test_csv_marked_utf8_with_a_cp1252_line_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "return.csv"
    path.write_bytes(b"\xef\xbb\xbfTeam,Note\nWeb Team,ok\n" + "Estates,£250\n".encode("cp1252"))

    with pytest.raises(ReadError, match="the file is marked as UTF-8, but line 3 is not"):
        read_workbook(path)


def test_csv_all_in_utf8_or_all_in_cp1252_is_read_as_typed(tmp_path: Path) -> None:
    text = "Team,Note\nWeb Team,Café audit £250\nEstates,naïve — ok\n"
    for encoding in ("utf-8", "cp1252"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert read_workbook(path).sheets[0].rows[1:] == [["Web Team", "Café audit £250"],
                                                          ["Estates", "naïve — ok"]]


# --- sheets, row numbering, sources --------------------------------------------------------

def test_hidden_and_very_hidden_sheets_are_reported_not_visible(tmp_path: Path) -> None:
    book = _openpyxl_book()
    book.create_sheet("Lists").sheet_state = "hidden"
    book.create_sheet("Secret").sheet_state = "veryHidden"
    book["Secret"]["A1"] = "x"
    book.create_sheet("Guidance")["A1"] = "Read me"
    book.save(tmp_path / "return.xlsx")

    sheets = read_workbook(tmp_path / "return.xlsx").sheets

    assert [(s.name, s.visible) for s in sheets] == [
        ("Return", True), ("Lists", False), ("Secret", False), ("Guidance", True),
    ]
    assert sheets[1].rows == []
    assert sheets[2].rows == [["x"]]


def test_hidden_sheet_in_xls_is_reported_not_visible(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    book.add_sheet("Return").write(0, 0, "Team")
    hidden = book.add_sheet("Lists")
    hidden.write(0, 0, "Green")
    hidden.visibility = 1
    book.save(str(tmp_path / "return.xls"))

    assert [(s.name, s.visible) for s in read_workbook(tmp_path / "return.xls").sheets] == [
        ("Return", True), ("Lists", False),
    ]


def test_chart_sheets_are_left_out(tmp_path: Path) -> None:
    book = _openpyxl_book()
    chart = BarChart()
    chart.add_data(Reference(book["Return"], min_col=5, min_row=1, max_row=4))
    book.create_chartsheet("Chart").add_chart(chart)
    book.save(tmp_path / "return.xlsx")

    assert [s.name for s in read_workbook(tmp_path / "return.xlsx").sheets] == ["Return"]


@pytest.mark.parametrize(("suffix", "writer"), [
    ("xlsx", lambda p: write_xlsx(p, top=3, left=2)),
    ("xls", lambda p: write_xls(p, top=2, left=1)),
    ("ods", lambda p: write_ods(p, top=2, left=1)),
])
def test_leading_blank_rows_and_columns_keep_spreadsheet_numbering(
        tmp_path: Path, suffix: str, writer: Callable[[Path], Path]) -> None:
    sheet = read_workbook(writer(tmp_path / f"return.{suffix}")).sheets[0]

    # Header typed in spreadsheet row 3, column B: rows[2][1].
    assert sheet.rows[2][1] == "Group"
    assert_table(sheet, TABLE, top=2, left=1)


def test_leading_blank_line_in_csv_keeps_numbering(tmp_path: Path) -> None:
    path = tmp_path / "return.csv"
    path.write_text("\n" + write_csv(tmp_path / "src.csv").read_text())

    rows = read_workbook(path).sheets[0].rows
    assert rows[0] == []
    assert rows[1:] == CSV_TABLE


def test_nothing_is_stripped_or_converted(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["  Team ", " ", "0085", True, False, 0, dt.datetime(2024, 3, 31, 9, 30), dt.time(14, 5)])
    book.save(tmp_path / "return.xlsx")

    assert read_workbook(tmp_path / "return.xlsx").sheets[0].rows == [
        ["  Team ", " ", "0085", True, False, 0, dt.datetime(2024, 3, 31, 9, 30), dt.time(14, 5)],
    ]


def test_workbook_with_only_empty_sheets_is_returned_for_validation_to_judge(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.create_sheet("Second")
    book.save(tmp_path / "blank.xlsx")

    assert read_workbook(tmp_path / "blank.xlsx") == Workbook(
        file_name="blank.xlsx", format="xlsx", sheets=[Sheet("Sheet", []), Sheet("Second", [])],
    )


def test_bytes_source_uses_the_given_file_name(tmp_path: Path) -> None:
    data = write_xlsx(tmp_path / "on-disk.xlsx").read_bytes()

    book = read_workbook(data, file_name="Upload from Estates.xlsx")

    assert book.file_name == "Upload from Estates.xlsx"
    assert_table(book.sheets[0], TABLE)


def test_file_name_overrides_the_path_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tmp1234")

    book = read_workbook(path, file_name="return.csv")

    assert (book.file_name, book.sheets[0].name) == ("return.csv", "return.csv")


@pytest.mark.parametrize(("writer", "wrong_name", "fmt"), [
    (write_xlsx, "return.csv", "xlsx"),
    (write_xls, "return.xlsx", "xls"),
    (write_ods, "return.xls", "ods"),
    (write_csv, "return.xlsx", "csv"),
])
def test_wrong_extension_is_read_by_content(tmp_path: Path, writer: Callable[[Path], Path],
                                            wrong_name: str, fmt: str) -> None:
    source = writer(tmp_path / "source")
    path = tmp_path / wrong_name
    path.write_bytes(source.read_bytes())

    book = read_workbook(path)

    assert (book.format, book.file_name) == (fmt, wrong_name)
    assert_table(book.sheets[0], CSV_TABLE if fmt == "csv" else TABLE)


def test_detect_format_works_on_bytes_alone(tmp_path: Path) -> None:
    assert detect_format(write_xlsx(tmp_path / "a").read_bytes(), "a.bin") == "xlsx"
    assert detect_format(write_xlsm_with_macros(tmp_path / "b").read_bytes(), "b.xlsx") == "xlsm"
    assert detect_format(write_xls(tmp_path / "c").read_bytes(), "c.xlsx") == "xls"
    assert detect_format(write_ods(tmp_path / "d.ods").read_bytes(), "d.xlsx") == "ods"
    assert detect_format(b"Team,Score\nWeb,3\n", "e.xlsx") == "csv"


# --- bad files ---------------------------------------------------------------------------

def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_LIKE = _zip({
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                           b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "word/document.xml": b"<w:document/>",
})
def _first_half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _overwrite(data: bytes, start: int, length: int) -> bytes:
    return data[:start] + b"\xab" * length + data[start + length:]


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(("name", "make_data", "says"), [
    ("return.xlsx", lambda tmp: b"", "The file is empty"),
    ("return.csv", lambda tmp: b"  \r\n\t\n", "The file is empty"),
    ("return.csv", lambda tmp: "\ufeff\n".encode(), "The file is empty"),
    ("return.xlsx", lambda tmp: PDF, "not a spreadsheet (it looks like a PDF document)"),
    ("return.xlsx", lambda tmp: PNG, "not a spreadsheet (it looks like a PNG image)"),
    ("return.xlsx", lambda tmp: random.Random(7).randbytes(4096), "not a spreadsheet. Save it as .xlsx"),
    ("return.xlsx", lambda tmp: DOCX_LIKE, "not a spreadsheet (it looks like a Word document)"),
    ("return.xlsx", lambda tmp: _zip({"notes.txt": b"hello"}), "not a spreadsheet (it looks like a zip archive)"),
    ("return.xls", lambda tmp: ole2(["WordDocument", "1Table"]), "it looks like a Word document"),
    ("return.xls", lambda tmp: b"<html><body><table><tr><td>Team</td></tr></table></body></html>",
     "it looks like a web page or XML file"),
    ("return.xlsx", lambda tmp: _first_half(write_xlsx(tmp / "whole.xlsx").read_bytes()), "damaged or incomplete"),
    ("return.xlsx", lambda tmp: ole2(["EncryptedPackage", "EncryptionInfo"]), "password-protected"),
    ("return.xls", lambda tmp: _first_half(write_xls(tmp / "whole.xls").read_bytes()), "damaged or incomplete"),
    # The container is intact but the workbook stream inside is garbage: calamine's own error.
    ("return.xls", lambda tmp: _overwrite(write_xls(tmp / "whole.xls").read_bytes(), 1536, 512),
     "damaged or incomplete"),
    ("return.xls", lambda tmp: ole2(["Contents"]), "not a spreadsheet. Save it as"),
    ("return.xlsb", lambda tmp: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00"}),
     "Excel binary workbook (.xlsb)"),
])
def test_unreadable_files_raise_read_error_naming_the_file(
        tmp_path: Path, name: str, make_data: Callable[[Path], bytes], says: str) -> None:
    path = tmp_path / name
    path.write_bytes(make_data(tmp_path))

    with pytest.raises(ReadError) as caught:
        read_workbook(path)

    assert caught.value.problem.file == name
    assert str(caught.value).startswith(f"{name}: ")
    assert says in caught.value.problem.message
    with pytest.raises(ReadError, match=re.escape(says)):
        read_workbook(path.read_bytes(), file_name=name)


def test_ole2_file_with_an_empty_workbook_stream_reads_as_a_workbook_without_sheets() -> None:
    assert read_workbook(ole2(["Workbook"]), file_name="return.xls") == Workbook("return.xls", "xls", [])


def test_password_message_says_how_to_remove_the_password() -> None:
    with pytest.raises(ReadError, match=r"Remove the password in Excel \(File > Info > Protect Workbook\)"):
        read_workbook(ole2(["EncryptedPackage", "EncryptionInfo"]), file_name="return.xlsx")


def test_valid_zip_with_broken_sheet_xml_raises_read_error(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"<worksheet><sheetData><row><c" if item.filename.endswith("sheet1.xml") else data)

    with pytest.raises(ReadError, match="damaged or incomplete") as caught:
        read_workbook(bad)
    assert caught.value.problem.file == "bad.xlsx"


def test_missing_file_raises_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="could not be opened") as caught:
        read_workbook(tmp_path / "nowhere.xlsx")
    assert caught.value.problem.file == "nowhere.xlsx"


def realdata(name: str) -> Path:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real data file {path} is not available on this machine")
    return path


def test_real_excel_progress_2019() -> None:
    book = read_workbook(realdata("nhs-dspt-progress-2019-06.xlsx"))

    assert book.format == "xlsx"
    assert [s.name for s in book.sheets] == ["DSPT Organisation Profile Progr"]
    rows = book.sheets[0].rows
    assert rows[0] == ["OrganisationName", "ODSCode", "PublicationStatus", "DateOfPublication",
                       "PrimarySector", "CCG (from ODS and CQC)"]
    assert len(rows) == 1 + 31_970
    # Leading spaces survive, blank statuses are None, dates are dates.
    assert rows[1][0] == " LANGDALE HOUSE LTD (VM8L1)"
    assert type(rows[1][3]) is dt.date
    assert any(row[2] is None for row in rows[1:])


def test_real_excel_status_2022_with_trailing_space_in_sheet_name() -> None:
    book = read_workbook(realdata("nhs-dspt-status-2022-09.xlsx"))

    assert [s.name for s in book.sheets] == ["DSPT search results 09_09_2022 ", "ICS", "Trust"]
    assert all(s.visible for s in book.sheets)
    rows = book.sheets[0].rows
    assert rows[0] == ["Code", "Organisation Name", "Status", "Date Of Publication", "Primary Sector",
                       "Commissioner (From ODS)"]
    assert len(rows) == 1 + 64_201
    assert {len(row) for row in rows} == {6}
    assert type(rows[1][3]) is dt.date


def test_real_csv_foi_statistics() -> None:
    book = read_workbook(realdata("cabinet-office-foi-statistics-2010-2020.csv"))

    assert book.format == "csv"
    rows = book.sheets[0].rows
    assert rows[0][:2] == ["Quarter", "Government body"]
    assert len(rows) == 1 + 2_303
    assert {len(row) for row in rows} == {122}
    assert any("-" in row for row in rows[1:])
