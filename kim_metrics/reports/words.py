"""Small pieces of GOV.UK-style wording shared by letters and the board pack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date


def long_date(day: date) -> str:
    """25 November 2026, as GOV.UK writes dates."""
    return f"{day.day} {day:%B %Y}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(count: int, word: str) -> str:
    """``3 teams``, ``1 team``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def join_names(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
