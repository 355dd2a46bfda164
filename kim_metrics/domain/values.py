"""Cells of a frame as plain Python values: NaN, NaT, pd.NA and None all become None.

Frames carry "no value" in several ways (NaN in a float column, pd.NA in an Int64 one,
None in an object one); records, documents and JSON want None. One rule, used everywhere.
"""

from __future__ import annotations

import pandas as pd
from pandas.api.types import is_scalar


def missing(value: object) -> bool:
    """None, NaN, NaT or pd.NA (a text is never missing, even when empty)."""
    return value is None or (not isinstance(value, str) and is_scalar(value) and bool(pd.isna(value)))


def as_int(value: object) -> int | None:
    return None if missing(value) else int(value)


def as_float(value: object, ndigits: int | None = None) -> float | None:
    """The value as a float (rounded to ``ndigits`` when given), or None."""
    if missing(value):
        return None
    return float(value) if ndigits is None else round(float(value), ndigits)


def as_bool(value: object) -> bool | None:
    return None if missing(value) else bool(value)
