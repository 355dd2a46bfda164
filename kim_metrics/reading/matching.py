"""Matching people's spellings to the domain: headers, criteria, teams and scores.

Header and name matching ignores case, spacing and punctuation. Scores arrive as numbers,
level labels, Yes/No, "85%", percentage cells (Excel stores 85 % as 0.85) or RAG words;
each distinct raw value is parsed once per criterion, so a 70,000-row return costs a few
hundred parses rather than 70,000.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import FIVE_LEVELS, CriteriaSet, Criterion, RagScale

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
_PERCENT_TEXT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*%\s*$")
_NUMBER_TEXT = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")

YES_WORDS = frozenset({"yes", "y", "true", "t"})
NO_WORDS = frozenset({"no", "n", "false", "f"})
# Short forms people type in RAG columns; only for the standard status names.
_RAG_ABBREVIATIONS = {"r": "Red", "a": "Amber", "g": "Green", "ar": "Amber/Red", "ag": "Amber/Green",
                      "ra": "Amber/Red", "ga": "Amber/Green"}


def norm_key(value: object) -> str:
    """Case, spacing and punctuation removed: ' Evidence-Link ' and 'evidence link' match."""
    if value is None:
        return ""
    return _NON_ALNUM.sub("", str(value)).lower()


def norm_keys(values: pd.Series) -> pd.Series:
    """``norm_key`` of every value, worked out once per distinct value (returns repeat names)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    keys = np.asarray([norm_key(u) for u in uniques], dtype=object)
    return pd.Series(keys[codes] if len(codes) else [], index=values.index, dtype=object)


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Known names a mistyped one probably meant, best first."""
    cands = list(dict.fromkeys(candidates))
    by_key = {}
    for c in cands:
        by_key.setdefault(norm_key(c), c)
    hits = difflib.get_close_matches(norm_key(name), list(by_key), n=n, cutoff=0.6)
    return [by_key[h] for h in hits]


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


def parse_score(raw: object, c: Criterion, rag: RagScale, *, fractions: bool = False
                ) -> tuple[float | None, str | None]:
    """(value on the criterion's scale, None) or (None, a message saying how to fix it).

    ``fractions`` says the file's percent scores are stored as fractions (percentage
    cells), so 1.0 means 100 % rather than 1 %.
    """
    # pandas turns empty cells into NaN when a column mixes numbers and blanks.
    if raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and math.isnan(raw)):
        return None, f"The score is empty. Enter a score for '{c.name}' ({_accepted(c)})."
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return None, (f"This cell holds a date or time ({raw}), not a score. "
                      f"Enter a score for '{c.name}' ({_accepted(c)}).")
    if isinstance(raw, bool):
        return _from_yes_no(raw, c)
    if isinstance(raw, (int, float, np.integer, np.floating)):
        return _from_number(float(raw), c, percent_cell=fractions)
    text = str(raw).strip()
    m = _PERCENT_TEXT.match(text)
    if m:
        if c.scale != "percent":
            return None, f"'{text}' is a percentage but '{c.name}' is scored {_accepted(c)}."
        return _from_number(float(m.group(1)), c)
    if _NUMBER_TEXT.match(text):
        return _from_number(float(text), c)
    key = norm_key(text)
    if key in YES_WORDS or key in NO_WORDS:
        if c.scale == "yesno":
            return (1.0 if key in YES_WORDS else 0.0), None
        return None, f"'{text}' is a Yes/No answer but '{c.name}' is scored {_accepted(c)}."
    if c.scale == "level":
        labels = [norm_key(x) for x in c.levels]
        if key in labels:
            return float(labels.index(key)), None
        # Status files often prefix the label with the round ("22/23 Standards Met").
        suffix = [i for i, lab in enumerate(labels) if key.endswith(lab)]
        if suffix:
            return float(max(suffix, key=lambda i: len(labels[i]))), None
    status = rag_word(text, rag)
    if status is not None:
        return _rag_value(status, c, rag), None
    return None, f"'{_shorten(text)}' is not a score for '{c.name}'. Use {_accepted(c)}."


def _from_yes_no(flag: bool, c: Criterion) -> tuple[float | None, str | None]:
    if c.scale == "yesno":
        return (1.0 if flag else 0.0), None
    return None, f"A TRUE/FALSE cell is not a score for '{c.name}'. Use {_accepted(c)}."


def _from_number(x: float, c: Criterion, *, percent_cell: bool = False
                 ) -> tuple[float | None, str | None]:
    if math.isnan(x) or math.isinf(x):
        return None, f"The score is not a number. Use {_accepted(c)}."
    if c.scale == "percent":
        if percent_cell or 0 < x < 1:
            x *= 100.0
        if not 0 <= x <= 100:
            return None, f"{x:g} is outside 0-100 for '{c.name}'. Enter a percentage from 0 to 100."
        return round(x, 6), None
    if c.scale == "yesno":
        if x in (0.0, 1.0):
            return x, None
        return None, f"{x:g} is not a Yes/No answer for '{c.name}'. Enter Yes or No (or 1 / 0)."
    if x != int(x) or not 0 <= x <= c.top:
        return None, (f"{x:g} is not a level of '{c.name}'. Use a whole number from 0 to "
                      f"{int(c.top)} or a label: {', '.join(c.levels)}.")
    return x, None


def _accepted(c: Criterion) -> str:
    if c.scale == "level":
        return f"0 to {int(c.top)}, or one of: {', '.join(c.levels)}"
    if c.scale == "percent":
        return "a percentage from 0 to 100, such as 85 or 85%"
    return "Yes or No"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_scores(raw: pd.Series, criterion_ids: pd.Series, criteria: CriteriaSet
                 ) -> tuple[pd.Series, pd.Series]:
    """Vectorised ``parse_score``: values (NaN where bad) and messages (None where good)."""
    if raw.empty:
        return pd.Series(dtype=float, index=raw.index), pd.Series(dtype=object, index=raw.index)
    frame = pd.DataFrame({"raw": raw.astype(object), "criterion": criterion_ids})
    frame["key"] = frame["raw"].map(_hashable)
    percent_ids = {c.id for c in criteria if c.scale == "percent"}
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
