"""What counts as the same name, what a name may be, and the names someone probably meant.

One rule everywhere, on every database: two names are the same when they match after Unicode
compatibility normalisation (NFKC, so full-width and ligature letters are their plain
selves) with case folded and spacing, hyphens and punctuation ignored ("Digital Services",
"Digital-Services" and "digital services" are one directorate). Headers, criteria, teams,
directorates, assessments and labels all match by it.

A group, directorate or team name is at most ``MAX_NAME_LENGTH`` characters (the database
columns hold that many on every backend, so SQLite cannot keep what PostgreSQL refuses) and
has at least one letter or digit, so it can be told apart from another.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence

from kim_metrics.domain.errors import NotFoundError

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
# How alike a typed name must be to a known one to be suggested (difflib's ratio).
SUGGESTION_CUTOFF = 0.6


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The organisation's name columns are String(200) (storage.models).
MAX_NAME_LENGTH = 200


def norm_key(value: object) -> str:
    """Case, spacing and punctuation removed: ' Evidence-Link ' and 'evidence link' match."""
    if value is None:
        return ""
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", str(value)).casefold())


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot be a group, directorate or team name (``what``), or None."""
    if len(name) > MAX_NAME_LENGTH:
        return (f"The {what} name is {len(name)} characters long; the most is {MAX_NAME_LENGTH}. "
                f"Shorten it.")
    if name and not norm_key(name):
        return (f"The {what} name '{name}' has no letters or digits, so it cannot be told apart "
                "from another. Give it a name with letters.")
    # Control characters, and the direction overrides that make a name read as another.
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        return f"The {what} name contains invisible control characters. Retype it in plain text."
    return None


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Known names a mistyped one probably meant, best first."""
    by_key: dict[str, str] = {}
    for c in dict.fromkeys(candidates):
        by_key.setdefault(norm_key(c), c)
    hits = difflib.get_close_matches(norm_key(name), list(by_key), n=n, cutoff=SUGGESTION_CUTOFF)
    return [by_key[h] for h in hits]


def suggestion(hint: Sequence[str]) -> str:
    """" Did you mean 'A' or 'B'?" for the names given, or '' when there are none.

    It starts with a space and ends without one, so it goes between two sentences as is:
    ``f"'x' is not a team.{suggestion(hint)} Use ..."``.
    """
    return f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """``suggestion`` of the known names a mistyped one probably meant."""
    return suggestion(closest(name, candidates, n))


def find_directorate(name: str, known: Iterable[str], *, where: str = "", fix: str = "") -> str:
    """The known spelling of a directorate named in any case, spacing or punctuation.

    Otherwise ``NotFoundError`` with the names meant: those holding what was typed, else the
    closest, else the closest once the word "directorate" is set aside ("Digital" for
    "Digital Directorate"). ``where`` ends the first sentence (" in round 2026-Q3"); ``fix``
    is a last sentence saying what to do.
    """
    names = list(dict.fromkeys(known))
    wanted = norm_key(name)
    for n in names:
        if norm_key(n) == wanted:
            return n
    typed = str(name).strip().casefold()
    hint = [n for n in names if typed and typed in n.casefold()][:3] or closest(name, names)
    if not hint:
        short = {n.casefold().replace("directorate", "").strip(): n for n in names}
        hint = [short[h] for h in closest(name, list(short))]
    raise NotFoundError(f"There is no directorate '{name}'{where}.{suggestion(hint)}{fix}")
