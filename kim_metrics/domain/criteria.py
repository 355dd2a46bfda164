"""The criteria a team is scored against, and the RAG scale its scores turn into.

A department edits ``criteria.toml``, so its shape is fixed: every key is checked and any key
not in the shape is refused with a message that names it. A loaded file becomes a
``CriteriaSet``; each round keeps the set that was in force when it opened.

A criterion's scale (``domain.scales``) holds every rule that depends on the kind of scale;
``Criterion`` asks it. ``[rag]`` is the round's status set: its names, worst first, the team
thresholds and any colours the department gave.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from kim_metrics.domain.errors import Problem, ProblemCode, ValidationError
from kim_metrics.domain.scales import (
    Scale, ScaleProblem, build_scale, scale_keys, scale_names,
)
from kim_metrics.domain.statuses import (  # noqa: F401  (callers still import these from here)
    FIVE_LEVELS, NO_RETURN, THREE_LEVELS, StatusSet, colour_problems,
)
from kim_metrics.domain.values import missing

# Shipped inside the package (``data/criteria.toml`` in the checkout links to it), so an
# installed wheel can seed the criteria.
DEFAULT_CRITERIA_PATH = Path(__file__).resolve().parents[1] / "data" / "criteria.toml"

SHORT_MAX = 14        # a grid's column header
MAX_WEIGHT = 1000.0
_IMA_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_ID = re.compile(r"^[A-Za-z0-9_]+$")

_RAG_KEYS = ("levels", "team", "colours")
_COMMON_KEYS = ("id", "name", "short", "description", "ima", "scale", "rag", "weight", "aliases",
                "guidance")
_REQUIRED_CRITERION_KEYS = ("id", "name", "scale", "rag", "guidance")
# Words a derived short label leaves off its end ("Legacy and" reads as "Legacy").
_TRAILING_WORDS = {"a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


@dataclass(frozen=True)
class RagScale:
    """The ordered statuses, worst first, the lowest team score (0-100) for each, and colours.

    ``statuses`` is the status set every page, workbook and document draws these statuses
    with: the department's own colours where it gave them, defaults otherwise.
    """

    levels: tuple[str, ...] = THREE_LEVELS
    team: Mapping[str, float] = field(default_factory=lambda: {"Green": 80.0, "Amber": 50.0})
    colours: Mapping[str, str] = field(default_factory=dict)
    statuses: StatusSet = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statuses", StatusSet(tuple(self.levels), dict(self.colours)))

    def classify(self, values: Any, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """Status for each value: the best status whose threshold the value reaches.

        NaN (no value) becomes ``NO_RETURN``; it is never Red or Green by accident.
        """
        thresholds = self.team if thresholds is None else thresholds
        ordered = [s for s in self.levels if s in thresholds]
        cuts = np.array([thresholds[s] for s in ordered], dtype=float)
        names = np.array([self.levels[0], *ordered, NO_RETURN], dtype=object)
        arr = np.asarray(values, dtype=float)
        idx = np.searchsorted(cuts, arr, side="right")
        idx = np.where(np.isnan(arr), len(names) - 1, idx)
        return names[idx]

    def position(self, status: str) -> int:
        """0 for the worst status; -1 for "No return" so it sorts below every status."""
        return self.statuses.position(status)


@dataclass(frozen=True)
class Criterion:
    """One criterion; everything that depends on its scale is asked of ``measure``."""

    id: str
    name: str
    description: str
    measure: Scale
    rag: Mapping[str, float]
    weight: float
    aliases: tuple[str, ...]
    guidance: tuple[str, ...]
    short: str = ""                 # a grid's column header, at most SHORT_MAX characters
    ima: str | None = None          # the Information Management Assessment sub-area it evidences

    @property
    def scale(self) -> str:
        """The scale's name, as the criteria file writes it."""
        return self.measure.name

    @property
    def levels(self) -> tuple[str, ...]:
        """A level scale's labels, lowest first (empty for other scales)."""
        return self.measure.levels

    @property
    def top(self) -> float:
        """The highest value on the criterion's own scale."""
        return self.measure.top

    def to_percent(self, values: Any) -> np.ndarray:
        """Values on the criterion's own scale made 0-100 for the team score."""
        return self.measure.to_percent(values)

    def label(self, value: float | None) -> str:
        """How a value reads to a person: the level's label, "85%", "Yes"/"No"."""
        if missing(value):
            return ""
        return self.measure.label(float(value))

    def choices(self) -> list[str]:
        """The template's drop-down for the score; empty when a number is typed."""
        return self.measure.choices()

    def accepted(self) -> str:
        """The values a score may take, as a message names them."""
        return self.measure.accepted()

    def valid(self, value: float) -> bool:
        """Whether ``value`` lies on the criterion's scale."""
        return self.measure.valid(value)

    def challenge_values(self) -> list[float] | None:
        """The values a reviewer may pick; None when any number from 0 to ``top`` will do."""
        return self.measure.challenge_values()

    def bands(self, rag: RagScale) -> list[tuple[float, str]]:
        """Lowest value of each band on the criterion's scale, worst first, with its status."""
        ordered = [s for s in rag.levels if s in self.rag]
        return [(0.0, rag.levels[0]), *((float(self.rag[s]), s) for s in ordered)]

    def next_step(self, value: float, rag: RagScale) -> tuple[float, str] | None:
        """The value to reach next and the guidance for getting there, or None at the top."""
        step = self.measure.next_step(value, self.bands(rag))
        return None if step is None else (step[0], self.guidance[step[1]])

    def steps_up(self, rag: RagScale) -> list[str]:
        """The guidance, each entry saying which score it moves a team up from."""
        return self.measure.steps_up(self.bands(rag), self.guidance)

    @property
    def guidance_needed(self) -> int:
        return self.measure.guidance_needed(self.rag)


@dataclass(frozen=True)
class CriteriaSet:
    rag: RagScale
    criteria: tuple[Criterion, ...]

    def __iter__(self):
        return iter(self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    def get(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    @property
    def weights(self) -> dict[str, float]:
        return {c.id: c.weight for c in self.criteria}

    def to_dict(self) -> dict[str, Any]:
        rag: dict[str, Any] = {"levels": list(self.rag.levels), "team": dict(self.rag.team)}
        if self.rag.colours:
            rag["colours"] = dict(self.rag.colours)
        return {"rag": rag, "criterion": [_criterion_dict(c) for c in self.criteria]}

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "name": c.name, "short": c.short, "description": c.description}
    if c.ima:
        out["ima"] = c.ima
    out["scale"] = c.scale
    out.update(c.measure.to_table())
    out.update(
        rag=dict(c.rag), weight=c.weight, aliases=list(c.aliases), guidance=list(c.guidance)
    )
    return out


def load_criteria(source: str | Path | None = None) -> CriteriaSet:
    """Read a criteria file (the shipped defaults when ``source`` is None)."""
    path = Path(source) if source is not None else DEFAULT_CRITERIA_PATH
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError([Problem(str(path), None, None, None,
                                       "The criteria file does not exist. Check the path.",
                                       code=ProblemCode.FILE_NOT_FOUND)]) from None
    return parse_criteria(decode_criteria(data, file_name=path.name), file_name=path.name)


def decode_criteria(data: bytes, *, file_name: str = "criteria.toml") -> str:
    """A criteria file's text; a file that is not UTF-8 is refused naming the first bad line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValidationError([Problem(
            file_name, None, None, None,
            f"The criteria file is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line} "
            "is not UTF-8). Save it as UTF-8 (in Notepad: Save as, Encoding UTF-8) and load it "
            "again.", code=ProblemCode.FILE_UNREADABLE)]) from None


def parse_criteria(text: str, *, file_name: str = "criteria.toml") -> CriteriaSet:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file_name, None, None, None,
                                       f"The criteria file is not valid TOML ({exc}). Fix the line it names and load it again.",
                                       code=ProblemCode.FILE_UNREADABLE)]) from None
    return criteria_from_dict(raw, file_name=file_name)


def criteria_from_dict(raw: Mapping[str, Any], *, file_name: str = "criteria") -> CriteriaSet:
    """Build and check a criteria set; every problem is reported at once."""
    problems: list[Problem] = []

    def problem(where: str, message: str) -> None:
        problems.append(Problem(file_name, None, None, where, message, code=ProblemCode.BAD_DEFINITION))

    for key in sorted(set(raw) - {"rag", "criterion"}):
        problem(key, f"Unknown section '{key}'. Only [rag] and [[criterion]] are allowed; remove it.")

    rag = _parse_rag(raw.get("rag", {}), problem)
    items = raw.get("criterion", [])
    if not isinstance(items, list) or not items:
        problem("criterion", "No criteria given. Add at least one [[criterion]] table.")
        items = []
    criteria: list[Criterion] = []
    seen: set[str] = set()
    shorts: dict[str, str] = {}
    for n, item in enumerate(items, start=1):
        c = _parse_criterion(item, n, rag, problem)
        if c is None:
            continue
        if c.id in seen:
            problem(f"criterion {n}", f"The id '{c.id}' is used twice. Give each criterion its own id.")
        seen.add(c.id)
        if c.short:
            key = c.short.casefold()
            if key in shorts:
                problem(f"criterion '{c.id}'", f"The short label '{c.short}' is also the short label "
                        f"of '{shorts[key]}'. Give each criterion its own, so the grid's columns "
                        "can be told apart.")
            shorts[key] = c.id
        criteria.append(c)
    if problems:
        raise ValidationError(problems)
    return CriteriaSet(rag=rag, criteria=tuple(_with_shorts(criteria)))


def _with_shorts(criteria: list[Criterion]) -> list[Criterion]:
    """Every criterion with a short label: its own, or one derived that no other one has."""
    taken = {c.short.casefold() for c in criteria if c.short}
    out = []
    for c in criteria:
        if not c.short:
            short = derive_short(c.name, c.aliases, taken)
            taken.add(short.casefold())
            c = replace(c, short=short)
        out.append(c)
    return out


def derive_short(name: str, aliases: Sequence[str] = (), taken: set[str] = frozenset()) -> str:
    """A column header of at most ``SHORT_MAX`` characters for a criterion that gave none.

    The name when it fits, else the longest alias that fits, else the name cut at a word
    (ending "…"); a label another criterion already has is passed over.
    """
    fitting = sorted((a for a in aliases if len(a) <= SHORT_MAX), key=len, reverse=True)
    candidates = [name] if len(name) <= SHORT_MAX else []
    candidates += [a[:1].upper() + a[1:] for a in fitting]
    candidates.append(_cut(name))
    for candidate in candidates:
        if candidate.casefold() not in taken:
            return candidate
    stem = _cut(name, SHORT_MAX - 2).rstrip("…")
    for n in range(2, 100):
        numbered = f"{stem} {n}"
        if numbered.casefold() not in taken:
            return numbered
    return name[:SHORT_MAX]


def _cut(text: str, limit: int = SHORT_MAX) -> str:
    """``text`` cut at a word so that it fits ``limit`` characters with its "…"."""
    if len(text) <= limit:
        return text
    words = text[:limit - 1].split()
    if len(words) > 1 and not text[limit - 1].isspace():
        words = words[:-1]     # the last word was cut through
    while len(words) > 1 and words[-1].lower().strip("-,;:") in _TRAILING_WORDS:
        words.pop()
    kept = " ".join(words).rstrip("-,;:") or text[:limit - 1]
    return kept + "…"


def _parse_rag(raw: Any, problem) -> RagScale:
    if not isinstance(raw, Mapping):
        problem("rag", "[rag] must be a table with 'levels' and 'team'.")
        return RagScale()
    for key in sorted(set(raw) - set(_RAG_KEYS)):
        problem(f"rag.{key}", f"Unknown key '{key}' in [rag]. Allowed keys: {', '.join(_RAG_KEYS)}.")
    levels = raw.get("levels", THREE_LEVELS)
    if not isinstance(levels, (list, tuple)) or not (2 <= len(levels) <= 7) \
            or not all(isinstance(x, str) and x.strip() for x in levels) \
            or len(set(levels)) != len(levels):
        problem("rag.levels", 'RAG levels must be 2 to 7 distinct names, worst first, '
                'for example ["Red", "Amber", "Green"].')
        levels = THREE_LEVELS
    levels = tuple(levels)
    default_team = {"Green": 80.0, "Amber": 50.0} if levels == THREE_LEVELS else {}
    team = _thresholds(raw.get("team", default_team), levels, (0.0, 100.0), "rag.team", problem)
    if not team:
        problem("rag.team", "Give the lowest team score (0-100) for each status above "
                f"'{levels[0]}', for example team = {{ {levels[-1]} = 80 }}.")
    colours = raw.get("colours", {})
    if not isinstance(colours, Mapping):
        problem("rag.colours", 'colours must be a table of status = "#RRGGBB", such as '
                f'colours = {{ "{levels[-1]}" = "#00703C" }}.')
        colours = {}
    bad = colour_problems(colours, levels)
    for message in bad:
        problem("rag.colours", message)
    return RagScale(levels=levels, team=team, colours={} if bad else
                    {status: value.upper() for status, value in colours.items()})


def _thresholds(raw: Any, levels: Sequence[str], bounds: tuple[float, float], where: str,
                problem) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        problem(where, "Thresholds must be a table such as { Green = 80, Amber = 50 }.")
        return {}
    out: dict[str, float] = {}
    for status, value in raw.items():
        if status not in levels[1:]:
            problem(where, f"'{status}' is not a RAG level above '{levels[0]}'. "
                    f"Use one of: {', '.join(levels[1:])}.")
            continue
        if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
            value = 1.0 if value.strip().lower() == "yes" else 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not bounds[0] <= value <= bounds[1]:
            problem(where, f"The threshold for {status} must be a number from "
                    f"{bounds[0]:g} to {bounds[1]:g}; it is {value!r}.")
            continue
        out[status] = float(value)
    ordered = [out[s] for s in levels if s in out]
    if any(b <= a for a, b in zip(ordered, ordered[1:])):
        problem(where, "Thresholds must rise with the RAG levels: each better status needs a "
                "higher value than the one below it.")
    return out


def _parse_criterion(item: Any, n: int, rag: RagScale, problem) -> Criterion | None:
    where = f"criterion {n}"
    if not isinstance(item, Mapping):
        problem(where, "Each [[criterion]] must be a table.")
        return None
    cid = item.get("id")
    if isinstance(cid, str) and cid.strip():
        where = f"criterion '{cid}'"
    own_keys = scale_keys()
    allowed = sorted({*_COMMON_KEYS, *(k for keys in own_keys.values() for k in keys)})
    for key in sorted(set(item) - set(allowed)):
        problem(where, f"Unknown key '{key}'. Allowed keys: {', '.join(allowed)}.")
    missing = [k for k in _REQUIRED_CRITERION_KEYS if k not in item]
    if missing:
        problem(where, f"Missing {', '.join(missing)}. Every criterion needs "
                f"{', '.join(_REQUIRED_CRITERION_KEYS)}.")
        return None
    if not isinstance(cid, str) or not _ID.match(cid.strip()):
        problem(where, "The id must be a short word of letters, digits and underscores, such as 'naming'.")
        return None
    name = item["name"]
    if not isinstance(name, str) or not name.strip():
        problem(where, "The name must be non-empty text.")
        return None
    scale_name = item["scale"]
    if not isinstance(scale_name, str) or scale_name not in scale_names():
        problem(where, f"Unknown scale {scale_name!r}. Use one of: {', '.join(scale_names())}.")
        return None
    for other, keys in own_keys.items():
        for key in keys:
            if key in item and key not in own_keys[scale_name]:
                problem(where, f"Only a '{other}' scale has {key}; remove '{key}' from this "
                        f"{scale_name} criterion.")
    try:
        measure = build_scale(scale_name, item)
    except ScaleProblem as exc:
        problem(where, str(exc))
        return None
    thresholds = _thresholds(item["rag"], rag.levels, (0.0, measure.top), f"{where} rag", problem)
    if not thresholds:
        problem(where, f"Give at least one RAG threshold, such as rag = {{ {rag.levels[-1]} = {measure.top:g} }}.")
        return None
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
            or not 0 < weight <= MAX_WEIGHT:
        problem(where, f"The weight must be a number above 0 and at most {MAX_WEIGHT:g}; "
                f"it is {weight!r}.")
        return None
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problem(where, "aliases must be a list of text, such as [\"file naming\"].")
        return None
    short = _short(item.get("short"), where, problem)
    ima = item.get("ima")
    if ima is not None and (not isinstance(ima, str) or not _IMA_ID.match(ima.strip())):
        problem(where, "ima must name an Information Management Assessment sub-area by its id: "
                "letters, digits and underscores, such as \"managing_information_as_an_asset\".")
        return None
    description = item.get("description", "")
    if not isinstance(description, str):
        problem(where, "The description must be text.")
        return None
    guidance = item["guidance"]
    c = Criterion(
        id=cid.strip(), name=name.strip(), description=description.strip(), measure=measure,
        rag=thresholds, weight=float(weight), aliases=tuple(a.strip() for a in aliases if a.strip()),
        guidance=tuple(guidance) if isinstance(guidance, list) else (),
        short=short or "", ima=ima.strip() if ima else None,
    )
    if not isinstance(guidance, list) or not all(isinstance(g, str) and g.strip() for g in guidance) \
            or len(guidance) != c.guidance_needed:
        problem(where, f"guidance must be a list of {c.guidance_needed} non-empty text entries: "
                "how to move up from each level below the top.")
        return None
    return c


def _short(value: Any, where: str, problem) -> str | None:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > SHORT_MAX or not text.isprintable():
        problem(where, f"short must be text of 1 to {SHORT_MAX} characters on one line, such as "
                f"\"Naming\" (a grid's column header); it is {value!r}.")
        return None
    return text
