"""Errors raised by the core.

Every error a user can cause is a ``KimError``: the command line prints it and exits 1,
the dashboard shows it as a message. Anything else is a defect in the code.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        }


class KimError(Exception):
    """A mistake the user can fix; the message says how."""


class UsageError(KimError):
    """The command was asked for something that cannot be done as asked (exit code 2)."""


class ReadError(KimError):
    """A file could not be read as a spreadsheet at all."""

    def __init__(self, file: str, message: str, *, sheet: str | None = None) -> None:
        self.problem = Problem(file=file, sheet=sheet, row=None, column=None, message=message)
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
    return (p.file, p.sheet or "", p.row if p.row is not None else -1, p.column or "", p.message)
