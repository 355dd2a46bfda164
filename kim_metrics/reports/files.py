"""File names for what the project writes: readable, short, and one file per document.

Names come from people (directorates in any script, of any length), so they are turned into
ASCII slugs by python-slugify, which transliterates ("Управление" becomes "upravlenie")
rather than dropping what it cannot spell. A slug is cut at a word boundary so a
300-character name still makes a file name every file system takes. Where two names make
the same slug ("Café" and "Cafe", two cut at the same place, or a name with no letters at
all) a short tag from the exact name keeps the files apart, the same tag every time.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable

from slugify import slugify

SLUG_MAX = 80
TAG_LENGTH = 6


def slug(text: object, max_length: int = SLUG_MAX) -> str:
    """``text`` as lower-case ASCII words joined by hyphens; empty when it has no letters."""
    return slugify(str(text), max_length=max_length, word_boundary=True, save_order=True)


def name_tag(text: object) -> str:
    """A short tag that tells apart names that make the same slug."""
    exact = unicodedata.normalize("NFC", str(text))
    return hashlib.sha256(exact.encode("utf-8")).hexdigest()[:TAG_LENGTH]


def _stem(name: str, tagged: bool) -> str:
    base = slug(name)
    if not base:                        # no letters or digits in any script: say what it is
        return f"directorate-{name_tag(name)}"
    return f"{base}-{name_tag(name)}" if tagged else base


def letter_file_name(directorate: str, round_label: str, fmt: str = "docx", *,
                     tagged: bool = False) -> str:
    """One director's letter: ``letter-finance-directorate-2026-Q3.docx``."""
    return f"letter-{_stem(directorate, tagged)}-{round_label}.{fmt}"


def letter_file_names(directorates: Iterable[str], round_label: str, fmt: str = "docx") -> dict[str, str]:
    """Directorate → file name, different for every directorate (compared as a file system
    that ignores case would). Two clashing names sharing a tag too is a one in 16 million
    chance; ``services.documents.write_letters`` refuses to overwrite rather than trust it."""
    names = list(dict.fromkeys(directorates))
    plain = {d: letter_file_name(d, round_label, fmt) for d in names}
    clashes = Counter(n.casefold() for n in plain.values())
    return {d: letter_file_name(d, round_label, fmt, tagged=clashes[plain[d].casefold()] > 1)
            for d in names}
