"""The rules for text read from a return: characters that are removed, cells that count as blank,
and cells too long to store.

Text is stored as it was typed, with two exceptions, applied the same way to every cell of
every format:

* **Characters XML cannot hold** are removed as the file is read. Those would make the Excel
  and Word exports unreadable, and PostgreSQL refuses NUL outright. None of them can be seen or
  typed in a cell; they come from copy and paste. Vertical tab and form feed are Word's manual
  line and page breaks, so they become line breaks and the words stay apart. The rest (C0
  controls other than tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF)
  are removed. Stripping, not refusing, because the person uploading cannot see what to fix.
* **A cell of invisible characters only is blank.** Zero-width spaces, word joiners, a stray
  byte-order mark, non-breaking and other Unicode spaces draw nothing, so a cell holding only
  them looks empty to every reader. Evidence made of them must not count as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from kim_metrics.domain.errors import Problem, ProblemCode
from kim_metrics.reading.limits import NAME_MAX_CHARS, current_limits

# --- control characters ------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL_TABLE = {c: None for c in [*range(0x00, 0x09), *range(0x0e, 0x20), 0xfffe, 0xffff,
                                    *range(0xd800, 0xe000)]} | {0x0b: "\n", 0x0c: "\n"}
# What could become such a character once the XML of a zip-based workbook is decoded: the raw
# bytes, a character reference (&#1;) or OOXML's own escape (_x0001_).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20)])
# Separate patterns: a literal start lets the regex engine skip ahead, an alternation does not.
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


def xml_may_hold_controls(part: bytes) -> bool:
    """Whether XML bytes could decode to a control character (raw, ``&#1;`` or ``_x0001_``)."""
    # Literal searches first: bytes.find is a C scan, a regex over a whole sheet is not.
    return (len(part.translate(None, _CONTROL_BYTES)) != len(part)
            or part.find(b"&#") >= 0
            or (part.find(b"_x") >= 0 and _OOXML_ESCAPE.search(part) is not None))


def looks_binary(text: str) -> bool:
    """Whether decoded "text" is really binary data: control characters everywhere.

    A stray control character pasted into one cell must not make a whole CSV unreadable;
    random bytes decoded as latin-1 have one in every eight characters or so.
    """
    sample = text[:_BINARY_SAMPLE]
    found = len(_CSV_CONTROL.findall(sample))
    return found > max(2, len(sample) * _BINARY_SHARE)


# --- invisible characters ------------------------------------------------------------------
#
# Unicode's White_Space property (what `\s` matches) and its Default_Ignorable_Code_Point
# property (DerivedCoreProperties.txt: soft hyphen, combining grapheme joiner, Arabic letter
# mark, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors and vowel
# separator, zero-width space and joiners, direction marks and embeddings, word joiner and
# invisible operators, variation selectors, BOM, interlinear annotation marks, shorthand format
# controls, musical formatting, tags), and the blank braille pattern, which fonts draw as
# nothing. Python's unicodedata has no Default_Ignorable property, so the ranges are listed.
_INVISIBLE_CLASS = ("\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                    "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
                    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
_ONLY_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]*")


def is_invisible(text: str) -> bool:
    """Whether ``text`` draws nothing at all: empty, or only spaces and invisible characters."""
    return _ONLY_INVISIBLE.fullmatch(text) is not None


def cell_text(value: object) -> str:
    """A cell as the text a return stores: trimmed, and "" when nothing in it can be seen."""
    text = str(value).strip()
    return "" if is_invisible(text) else text


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
            problems.append(Problem(file, r.sheet, r.row, labels[field], msg, code=ProblemCode.TOO_LARGE))
    return problems
