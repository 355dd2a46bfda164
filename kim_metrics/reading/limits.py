"""How big an upload may be, and the checks of its size and extent against those limits.

Calamine is Rust, and it trusts what a file says about its own size. It makes a dense grid that
runs from A1 to the furthest cell with a value, so one value at XFD1048576 means 17 billion
cells; for an .xls or .ods it builds the grid of every sheet as the file is opened, before any
sheet is asked for. When that memory cannot be had the Rust allocator aborts the whole process:
the dashboard goes down for everyone, and no Python error is raised. So the extent of every
sheet is measured from the file's own records first (``archive`` for zip-based workbooks,
``biff`` for .xls), judged here sheet by sheet and for the workbook as a whole, and only then
does calamine open it.

The limits are a small table. Each one can be overridden by an environment variable, so a
department can raise a limit without changing code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kim_metrics.domain.errors import KimError, ProblemCode, ReadError
from kim_metrics.settings import UPLOAD_LIMITS, SettingError, Settings, env_name, load_settings


@dataclass(frozen=True)
class Limit:
    key: str
    env: str
    default: int | float
    what: str  # completes "Set it to the ..." in the message about a bad setting


# The limits are the ``max_*`` fields of the settings, named here without their ``max_``.
LIMITS: tuple[Limit, ...] = tuple(
    Limit(name.removeprefix("max_"), env_name(name), Settings.model_fields[name].default,
          Settings.model_fields[name].description or "")
    for name in UPLOAD_LIMITS)


@dataclass(frozen=True)
class Limits:
    upload_mb: float
    rows_per_sheet: int
    cells_per_sheet: int
    sheets: int
    workbook_cells: int
    zip_entries: int
    uncompressed_mb: float
    compression_ratio: float
    shared_text_mb: float
    cell_chars: int


def current_limits() -> Limits:
    """The limits in force, read from the environment each time so a change needs no restart."""
    try:
        settings = load_settings()
    except SettingError as exc:
        raise KimError(str(exc)) from None
    return Limits(**{name.removeprefix("max_"): getattr(settings, name) for name in UPLOAD_LIMITS})


def row_limit() -> int:
    return current_limits().rows_per_sheet


# Names are stored in columns of this width (db.Directorate.name, db.Team.name); PostgreSQL
# refuses a longer value, so validation must catch it first.
NAME_MAX_CHARS = 200

MB = 1024 * 1024

# What to tell the person, shared by every check of the file as a whole.
DAMAGED = ("This file looks damaged or incomplete (it may not have finished saving or downloading). "
           "Open it in Excel or LibreOffice Calc, save it again, and upload the new copy.")
RESAVE = ("Open it in Excel or LibreOffice Calc, copy the return into a new workbook, save that "
          "as .xlsx and upload it.")
SHRINK = ("Delete empty rows and columns after your data (select them, right-click, Delete), "
          "or split the return into several files, then upload again.")
PASSWORD = ("This file is password-protected. Remove the password in Excel "
            "(File > Info > Protect Workbook) and upload it again.")


def check_size(data: bytes, file_name: str, limits: Limits) -> None:
    if len(data) > limits.upload_mb * MB:
        raise ReadError(file_name, f"This file is {len(data) / MB:,.1f} MB; uploads are limited to "
                                   f"{limits.upload_mb:g} MB. Remove other sheets, images and empty "
                                   "formatted rows, or split the return into several files, then "
                                   "upload again.", code=ProblemCode.TOO_LARGE)


def check_extent(file_name: str, sheet: str, rows: int, columns: int, limits: Limits | None = None,
                 ) -> None:
    """Refuse a sheet that spans more rows or cells than the limits allow."""
    limits = limits or current_limits()
    if fits_sheet(rows, columns, limits):
        return
    if rows > limits.rows_per_sheet:
        raise ReadError(file_name, f"This sheet has {rows:,} rows; a sheet may have at most "
                                   f"{limits.rows_per_sheet:,}. " + SHRINK, sheet=sheet,
                                   code=ProblemCode.TOO_LARGE)
    if rows * columns > limits.cells_per_sheet:
        raise ReadError(file_name, f"This sheet spans {rows:,} rows by {columns:,} columns "
                                   f"({rows * columns:,} cells); a sheet may span at most "
                                   f"{limits.cells_per_sheet:,} cells. " + SHRINK, sheet=sheet,
                                   code=ProblemCode.TOO_LARGE)


def fits_sheet(rows: int, columns: int, limits: Limits) -> bool:
    return rows <= limits.rows_per_sheet and rows * columns <= limits.cells_per_sheet


def check_sheet_count(file_name: str, count: int, limits: Limits) -> None:
    if count > limits.sheets:
        raise ReadError(file_name, f"This workbook has {count:,} sheets; a workbook may have at most "
                                   f"{limits.sheets:,}. Copy the sheets of the return into a new "
                                   "workbook, save it and upload that.", code=ProblemCode.TOO_LARGE)


def workbook_cells(sheets: Iterable[tuple[str, int, int]]) -> int:
    return sum(rows * columns for _, rows, columns in sheets)


def check_workbook(file_name: str, sheets: Iterable[tuple[str, int, int]], limits: Limits) -> None:
    """Refuse a workbook whose sheets (name, rows, columns) are too many or too big together.

    Each sheet counts as often as the workbook lists it: calamine builds a grid for every entry.
    """
    sheets = list(sheets)
    check_sheet_count(file_name, len(sheets), limits)
    for name, rows, columns in sheets:
        check_extent(file_name, name, rows, columns, limits)
    total = workbook_cells(sheets)
    if total > limits.workbook_cells:
        name, rows, columns = max(sheets, key=lambda s: s[1] * s[2])
        if len(sheets) == 1:
            raise ReadError(file_name, f"This sheet spans {rows:,} rows by {columns:,} columns ({total:,} "
                                       f"cells); a workbook may span at most {limits.workbook_cells:,} "
                                       "cells. " + SHRINK, sheet=name, code=ProblemCode.TOO_LARGE)
        raise ReadError(file_name, f"The {len(sheets):,} sheets of this workbook together span "
                                   f"{total:,} cells (rows × columns, blanks included; the largest, "
                                   f"'{name}', spans {rows * columns:,}); a workbook may span at most "
                                   f"{limits.workbook_cells:,} cells. Upload only the sheet with the "
                                   "return (copy it into a new workbook), or delete empty rows and "
                                   "columns after your data, then upload again.", code=ProblemCode.TOO_LARGE)


def too_much_shared_text(file_name: str, limits: Limits) -> ReadError:
    return ReadError(file_name, "The cells of this file repeat its shared text so often that it would "
                                f"take more than {limits.shared_text_mb:g} MB to open; it may be built "
                                "to exhaust the server, so it was not opened. " + RESAVE,
                                code=ProblemCode.TOO_LARGE)


class WorkbookTally:
    """The cells of the sheets read so far, for refusing a workbook as soon as it is too big.

    The last guard: every format is measured before calamine opens it, and this catches
    anything those measurements missed before Python rows are made of it.
    """

    def __init__(self, file_name: str, limits: Limits | None = None) -> None:
        self.file_name = file_name
        self.limits = limits or current_limits()
        self.sheets: list[tuple[str, int, int]] = []

    def add(self, sheet: str, rows: int, columns: int) -> None:
        self.sheets.append((sheet, rows, columns))
        check_workbook(self.file_name, self.sheets, self.limits)

    def add_calamine_sheet(self, sheet) -> None:
        """Add a parsed sheet before Python lists are made of it (every blank cell included)."""
        end = sheet.end
        self.add(sheet.name, *((end[0] + 1, end[1] + 1) if end is not None else (0, 0)))
