"""Errors raised by the core.

Every error a user can cause is a ``KimError``: the command line prints it and exits 1,
the dashboard shows it as a message. Anything else is a defect in the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class ProblemCode(StrEnum):
    """What kind of thing is wrong, for code to act on; the message is for people.

    Pages and services branch on the code, never on the message's wording, so a message may
    be reworded freely.
    """

    FILE_NOT_FOUND = "file_not_found"
    FILE_UNREADABLE = "file_unreadable"        # damaged, not a spreadsheet, wrong text encoding
    PASSWORD_PROTECTED = "password_protected"
    UNSAFE_CONTENT = "unsafe_content"          # XML entities, unusual compression
    TOO_LARGE = "too_large"                    # beyond an upload limit
    NO_DATA = "no_data"                        # empty file, sheet or table
    UNRECOGNISED_COLUMNS = "unrecognised_columns"  # none of the expected headers found
    MISSING_COLUMN = "missing_column"          # one expected column is absent
    MISSING_VALUE = "missing_value"            # a required cell is empty
    UNKNOWN_TEAM = "unknown_team"
    UNKNOWN_CRITERION = "unknown_criterion"
    UNKNOWN_NAME = "unknown_name"              # an area, rating, status or assessment not known
    BAD_SCORE = "bad_score"
    BAD_VALUE = "bad_value"                    # not an email, a date, a priority...
    MISSING_SCORE = "missing_score"            # a team without a row for a criterion
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"                      # two rows say different things about one thing
    BAD_DEFINITION = "bad_definition"          # a criteria or framework file's content
    NOT_ALLOWED = "not_allowed"                # a change the rules do not permit


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an uploaded file, located as the spreadsheet shows it.

    ``row`` is the row number a person sees in Excel (1-based, header included) and
    ``column`` is the header text (or the column letter when there is no header);
    both are ``None`` when the problem concerns the whole file or sheet.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    message: str
    code: ProblemCode = field(kw_only=True)
    # The message as the dashboard words it, when the command line's words would not do
    # (a web user has a column-matching form, not ``--map``); None: the same words.
    web_message: str | None = field(default=None, compare=False, kw_only=True)

    def message_for(self, audience: str) -> str:
        """The message for ``audience``: "web" (the dashboard) or "cli"."""
        return self.web_message if audience == WEB and self.web_message else self.message

    def where(self) -> str:
        parts = [self.file]
        # A CSV's only sheet is the file itself; naming it twice reads as noise.
        if self.sheet and self.sheet != self.file:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "code": self.code.value,
        }


WEB = "web"
CLI = "cli"


@dataclass(frozen=True)
class ProblemGroup:
    """Problems saying the same thing about the same column of one sheet, on several rows."""

    file: str
    sheet: str | None
    rows: tuple[int, ...]       # the rows, ascending; empty for a problem of the whole file/sheet
    column: str | None
    message: str
    code: ProblemCode | None = None

    @property
    def rows_text(self) -> str:
        """The rows as a person writes them: "16-22, 25"; "" for a file-level problem."""
        return row_ranges(self.rows)


def row_ranges(rows: Iterable[int]) -> str:
    """Row numbers as runs: [16, 17, 18, 22] → "16-18, 22"."""
    runs: list[list[int]] = []
    for r in sorted(set(rows)):
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def group_problems(problems: Sequence[Problem], *, audience: str = CLI) -> list[ProblemGroup]:
    """Identical messages about one sheet's column gathered into one line with their rows.

    One unknown team on seven rows is one line, "rows 16-22", not seven. Groups keep the
    order of their first problem; ``audience`` picks each message's wording.
    """
    groups: dict[tuple, tuple[Problem, list[int]]] = {}
    for p in problems:
        text = p.message_for(audience)
        key = (p.file, p.sheet or "", p.column or "", text)
        first, rows = groups.setdefault(key, (p, []))
        if p.row is not None:
            rows.append(p.row)
    return [ProblemGroup(file=first.file, sheet=first.sheet, rows=tuple(sorted(set(rows))),
                         column=first.column, message=key[3], code=first.code)
            for key, (first, rows) in groups.items()]


class KimError(Exception):
    """A mistake the user can fix; the message says how."""


class UsageError(KimError):
    """The command was asked for something that cannot be done as asked (exit code 2)."""


class ReadError(KimError):
    """A file could not be read as a spreadsheet at all."""

    def __init__(self, file: str, message: str, *, sheet: str | None = None,
                 code: ProblemCode) -> None:
        self.problem = Problem(file=file, sheet=sheet, row=None, column=None, message=message,
                               code=code)
        super().__init__(str(self.problem))


class ValidationError(KimError):
    """A return (or organisation / criteria file) has problems; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found; nothing was saved."
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


class NotFoundError(KimError):
    """A round, team or directorate named by the user does not exist."""


class PermissionDenied(KimError):
    """The acting user may not do this."""


class DatabaseBusy(KimError):
    """The database stayed busy with other writes through every retry; nothing was saved."""


def _problem_order(p: Problem) -> tuple:
    return (p.file, p.sheet or "", p.row if p.row is not None else -1, p.column or "", p.message,
            p.code)
