"""Matching people's spellings to the domain: headers, criteria, teams and scores.

Header and name matching ignores case, spacing and punctuation. Scores arrive as numbers,
level labels, Yes/No, "85%", percentage cells (Excel stores 85 % as 0.85) or RAG words;
each distinct raw value is parsed once per criterion, so a 70,000-row return costs a few
hundred parses rather than 70,000.

A score means what the person typed. Matching works out what a cell holds (a number, text
with a ``%`` sign, TRUE/FALSE, words) and the criterion's scale says what that is on it
(``domain.scales``). A label matches only as a whole, or as a declared alias: "Not yet
fully embedded" is not "Fully embedded". The one prefix allowed is a round or year in front
of a label, as status files write it ("22/23 Standards Met"). Anything else is refused with
the accepted values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import FIVE_LEVELS, CriteriaSet, Criterion, RagScale
from kim_metrics.domain.names import norm_key
from kim_metrics.domain.scales import NO_WORDS, YES_WORDS, Reading

_PERCENT_TEXT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*%\s*$")
_NUMBER_TEXT = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")
# A round or year written in front of a label: "22/23", "2022/23", "2022-2023", "FY 22/23",
# "2026", "2026-Q3", "2026 Q3", "Q3 2026", "2026-03", then a space, colon or dash.
_YEAR = r"(?:19|20)\d{2}"
_ROUND_PREFIX = re.compile(
    r"^\s*(?:FY\s*)?(?:\d{2}\s*[/\-–]\s*\d{2}"
    rf"|{_YEAR}(?:\s*[/\-–]\s*(?:\d{{4}}|\d{{2}}))?(?:\s*-?\s*Q[1-4])?"
    rf"|Q[1-4]\s*{_YEAR})"
    r"(?:\s*[:\-–]\s*|\s+)(?=\S)", re.IGNORECASE)
# Short forms people type in RAG columns; only for the standard status names.
_RAG_ABBREVIATIONS = {"r": "Red", "a": "Amber", "g": "Green", "ar": "Amber/Red", "ag": "Amber/Green",
                      "ra": "Amber/Red", "ga": "Amber/Green"}


def norm_keys(values: pd.Series) -> pd.Series:
    """``norm_key`` of every value, worked out once per distinct value (returns repeat names)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    keys = np.asarray([norm_key(u) for u in uniques], dtype=object)
    return pd.Series(keys[codes] if len(codes) else [], index=values.index, dtype=object)


def criterion_lookup(criteria: CriteriaSet) -> dict[str, str]:
    """Every accepted spelling of a criterion (id, name, alias) → its id."""
    out: dict[str, str] = {}
    for c in criteria:
        for spelling in (c.id, c.name, *c.aliases):
            out.setdefault(norm_key(spelling), c.id)
    return out


def rag_word(value: object, rag: RagScale) -> str | None:
    """The RAG status a word names ("G", "green", "Amber / Red"), or None."""
    key = norm_key(value)
    if not key:
        return None
    names = {norm_key(level): level for level in (*rag.levels, *FIVE_LEVELS)}
    if key in names:
        return names[key]
    return _RAG_ABBREVIATIONS.get(key)


def _rag_value(status: str, c: Criterion, rag: RagScale) -> float:
    """A RAG word as a value on the criterion's scale: the lowest value with that status.

    A status the criterion does not distinguish (Amber/Green on a three-level scale) rounds
    down to the best status below it that it does, so a RAG word never over-claims.
    """
    order = list(dict.fromkeys((*rag.levels, *FIVE_LEVELS)))
    rank = {s: i for i, s in enumerate(FIVE_LEVELS)}
    target = rank.get(status, order.index(status) if status in order else 0)
    best = 0.0
    for s, threshold in c.rag.items():
        if rank.get(s, rag.position(s)) <= target:
            best = max(best, threshold)
    return best


def parse_score(raw: object, c: Criterion, rag: RagScale, *, fractions: bool = False) -> Reading:
    """(value on the criterion's scale, None) or (None, a message saying how to fix it).

    ``fractions`` says the file's percent scores are stored as fractions (percentage
    cells), so 1.0 means 100 % rather than 1 %.
    """
    scale = c.measure
    # pandas turns empty cells into NaN when a column mixes numbers and blanks.
    if raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and math.isnan(raw)):
        return None, f"The score is empty. Enter a score for '{c.name}' ({c.accepted()})."
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return None, (f"This cell holds a date or time ({raw}), not a score. "
                      f"Enter a score for '{c.name}' ({c.accepted()}).")
    if isinstance(raw, bool):
        return scale.from_flag(raw, c.name) or (
            None, f"A TRUE/FALSE cell is not a score for '{c.name}'. Use {c.accepted()}.")
    if isinstance(raw, (int, float, np.integer, np.floating)):
        return _from_number(float(raw), c, percent_cell=fractions)
    text = str(raw).strip()
    m = _PERCENT_TEXT.match(text)
    if m:
        return scale.from_percent(float(m.group(1)), c.name) or (
            None, f"'{_shorten(text)}' is a percentage but '{c.name}' is scored {c.accepted()}.")
    if _NUMBER_TEXT.match(text):
        return _from_number(float(text), c)
    prefix = _ROUND_PREFIX.match(text)
    for words in (text, text[prefix.end():]) if prefix else (text,):
        key = norm_key(words)
        value = scale.from_words(key)
        if value is not None:
            return value, None
        status = rag_word(words, rag)
        if status is not None:
            return _rag_value(status, c, rag), None
    if norm_key(text) in YES_WORDS | NO_WORDS:
        return None, f"'{_shorten(text)}' is a Yes/No answer but '{c.name}' is scored {c.accepted()}."
    return None, f"'{_shorten(text)}' is not a score for '{c.name}'. Use {c.accepted()}."


def _from_number(x: float, c: Criterion, *, percent_cell: bool = False) -> Reading:
    if math.isnan(x) or math.isinf(x):
        return None, f"The score is not a number. Use {c.accepted()}."
    return c.measure.from_number(x, c.name, percent_cell=percent_cell)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_scores(raw: pd.Series, criterion_ids: pd.Series, criteria: CriteriaSet
                 ) -> tuple[pd.Series, pd.Series]:
    """Vectorised ``parse_score``: values (NaN where bad) and messages (None where good)."""
    if raw.empty:
        return pd.Series(dtype=float, index=raw.index), pd.Series(dtype=object, index=raw.index)
    frame = pd.DataFrame({"raw": raw.astype(object), "criterion": criterion_ids})
    frame["key"] = frame["raw"].map(_hashable)
    percent_ids = {c.id for c in criteria if c.measure.fraction_cells}
    fractions = _percent_cells_are_fractions(frame, percent_ids)
    cache: dict[tuple[str, object], tuple[float | None, str | None]] = {}
    by_id = {c.id: c for c in criteria}
    pairs = frame[["criterion", "key"]].drop_duplicates()
    for cid, key, raw_value in zip(pairs["criterion"], pairs["key"], frame.loc[pairs.index, "raw"]):
        cache[(cid, key)] = parse_score(raw_value, by_id[cid], criteria.rag,
                                        fractions=cid in percent_ids and fractions)
    index = pd.MultiIndex.from_frame(frame[["criterion", "key"]])
    parsed = pd.DataFrame.from_dict(cache, orient="index", columns=["value", "message"])
    parsed.index = pd.MultiIndex.from_tuples(parsed.index)
    looked_up = parsed.reindex(index)
    values = pd.Series(looked_up["value"].to_numpy(dtype=float), index=raw.index)
    messages = pd.Series(looked_up["message"].to_numpy(dtype=object), index=raw.index)
    return values, messages


def _hashable(value: object) -> object:
    # Dates and floats hash fine; the marker keeps 1 and True apart, which pandas would merge.
    if isinstance(value, bool):
        return ("bool", value)
    return value


def _percent_cells_are_fractions(frame: pd.DataFrame, percent_ids: set[str]) -> bool:
    """True when every numeric percent score lies in 0-1: the column holds percentage cells."""
    if not percent_ids:
        return False
    rows = frame.loc[frame["criterion"].isin(percent_ids), "raw"]
    numbers = [float(v) for v in rows if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return bool(numbers) and max(numbers) <= 1.0 and any(0 < n < 1 for n in numbers)


def header_lookup(aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, spellings in aliases.items():
        for s in (field, *spellings):
            out.setdefault(norm_key(s), field)
    return out
