"""What counts as the same name, and the names someone probably meant.

One rule everywhere: two names are the same when they match with case, spacing and
punctuation ignored ("Digital Services", "Digital-Services" and "digital services" are one
directorate). Headers, criteria, teams, directorates, assessments and labels all match by it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
# How alike a typed name must be to a known one to be suggested (difflib's ratio).
SUGGESTION_CUTOFF = 0.6


def norm_key(value: object) -> str:
    """Case, spacing and punctuation removed: ' Evidence-Link ' and 'evidence link' match."""
    if value is None:
        return ""
    return _NON_ALNUM.sub("", str(value)).lower()


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Known names a mistyped one probably meant, best first."""
    by_key: dict[str, str] = {}
    for c in dict.fromkeys(candidates):
        by_key.setdefault(norm_key(c), c)
    hits = difflib.get_close_matches(norm_key(name), list(by_key), n=n, cutoff=SUGGESTION_CUTOFF)
    return [by_key[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """' Did you mean 'A' or 'B'?' for a mistyped name, or '' when nothing is close."""
    hint = closest(name, candidates, n)
    return f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
