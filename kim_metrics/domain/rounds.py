"""Round labels: ``YYYY-QN`` (quarters) or ``YYYY-MM`` (months), ordered by start date."""

from __future__ import annotations

import re
from datetime import date

from kim_metrics.domain.errors import KimError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def normalise_label(label: str) -> str:
    """'2026-q3' → '2026-Q3'; raises KimError with the accepted forms otherwise."""
    text = str(label).strip()
    if _QUARTER.match(text):
        return text.upper()
    if _MONTH.match(text):
        return text
    raise KimError(f"'{label}' is not a round label. Use YYYY-QN for a quarter (for example "
                   "2026-Q3) or YYYY-MM for a month (for example 2026-09).")


def start_date(label: str) -> date:
    """The first day of the round, which orders rounds."""
    text = normalise_label(label)
    m = _QUARTER.match(text)
    if m:
        return date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def next_label(label: str) -> str:
    """The round after ``label`` in the same style."""
    text = normalise_label(label)
    m = _QUARTER.match(text)
    if m:
        year, quarter = int(m.group(1)), int(m.group(2))
        return f"{year + quarter // 4}-Q{quarter % 4 + 1}"
    year, month = (int(x) for x in text.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"
