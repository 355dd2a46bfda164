"""The criteria a team is scored against, and the RAG scale its scores turn into.

A department edits ``criteria.toml``, so its shape is fixed: every key is checked and any key
not in the shape is refused with a message that names it. A loaded file becomes a
``CriteriaSet``; each round keeps the set that was in force when it opened.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from kim_metrics.domain.errors import Problem, ValidationError
from kim_metrics.domain.statuses import FIVE_LEVELS, NO_RETURN, THREE_LEVELS  # noqa: F401  (callers still import these from here)

DEFAULT_CRITERIA_PATH = Path(__file__).resolve().parents[2] / "data" / "criteria.toml"

SCALES = ("level", "percent", "yesno")
DEFAULT_LEVEL_LABELS = ("Not started", "Partly in place", "Mostly in place", "Fully embedded")

_RAG_KEYS = {"levels", "team"}
_CRITERION_KEYS = {
    "id", "name", "description", "scale", "levels", "rag", "weight", "aliases", "guidance",
}
_REQUIRED_CRITERION_KEYS = ("id", "name", "scale", "rag", "guidance")


@dataclass(frozen=True)
class RagScale:
    """The ordered statuses, worst first, and the lowest team score (0-100) for each."""

    levels: tuple[str, ...] = THREE_LEVELS
    team: Mapping[str, float] = field(default_factory=lambda: {"Green": 80.0, "Amber": 50.0})

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
        return self.levels.index(status) if status in self.levels else -1


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    description: str
    scale: str
    levels: tuple[str, ...]
    rag: Mapping[str, float]
    weight: float
    aliases: tuple[str, ...]
    guidance: tuple[str, ...]

    @property
    def top(self) -> float:
        """The highest value on the criterion's own scale."""
        if self.scale == "level":
            return float(len(self.levels) - 1)
        return 100.0 if self.scale == "percent" else 1.0

    def to_percent(self, values: Any) -> np.ndarray:
        """Values on the criterion's own scale made 0-100 for the team score."""
        return np.asarray(values, dtype=float) / self.top * 100.0

    def label(self, value: float | None) -> str:
        """How a value reads to a person: the level's label, "85%", "Yes"/"No"."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if self.scale == "level":
            return self.levels[int(round(value))]
        if self.scale == "yesno":
            return "Yes" if value >= 1 else "No"
        return f"{value:g}%"

    def bands(self, rag: RagScale) -> list[tuple[float, str]]:
        """Lowest value of each band on the criterion's scale, worst first, with its status."""
        ordered = [s for s in rag.levels if s in self.rag]
        return [(0.0, rag.levels[0]), *((float(self.rag[s]), s) for s in ordered)]

    def next_step(self, value: float, rag: RagScale) -> tuple[float, str] | None:
        """The value to reach next and the guidance for getting there, or None at the top."""
        if self.scale == "percent":
            bands = self.bands(rag)
            for i, (lowest, _status) in enumerate(bands[1:]):
                if value < lowest:
                    return lowest, self.guidance[i]
            return None
        if value >= self.top:
            return None
        step = int(np.floor(value))
        return float(step + 1), self.guidance[step]

    @property
    def guidance_needed(self) -> int:
        if self.scale == "level":
            return len(self.levels) - 1
        if self.scale == "yesno":
            return 1
        return len(self.rag)


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
        return {
            "rag": {"levels": list(self.rag.levels), "team": dict(self.rag.team)},
            "criterion": [_criterion_dict(c) for c in self.criteria],
        }

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id, "name": c.name, "description": c.description, "scale": c.scale,
    }
    if c.scale == "level":
        out["levels"] = list(c.levels)
    out.update(
        rag=dict(c.rag), weight=c.weight, aliases=list(c.aliases), guidance=list(c.guidance)
    )
    return out


def load_criteria(source: str | Path | None = None) -> CriteriaSet:
    """Read a criteria file (the shipped defaults when ``source`` is None)."""
    path = Path(source) if source is not None else DEFAULT_CRITERIA_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError([Problem(str(path), None, None, None,
                                       "The criteria file does not exist. Check the path.")]) from None
    except UnicodeDecodeError:
        raise ValidationError([Problem(path.name, None, None, None,
                                       "The criteria file is not UTF-8 text. Save it as UTF-8 and try again.")]) from None
    return parse_criteria(text, file_name=path.name)


def parse_criteria(text: str, *, file_name: str = "criteria.toml") -> CriteriaSet:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file_name, None, None, None,
                                       f"The criteria file is not valid TOML ({exc}). Fix the line it names and load it again.")]) from None
    return criteria_from_dict(raw, file_name=file_name)


def criteria_from_dict(raw: Mapping[str, Any], *, file_name: str = "criteria") -> CriteriaSet:
    """Build and check a criteria set; every problem is reported at once."""
    problems: list[Problem] = []

    def problem(where: str, message: str) -> None:
        problems.append(Problem(file_name, None, None, where, message))

    for key in sorted(set(raw) - {"rag", "criterion"}):
        problem(key, f"Unknown section '{key}'. Only [rag] and [[criterion]] are allowed; remove it.")

    rag = _parse_rag(raw.get("rag", {}), problem)
    items = raw.get("criterion", [])
    if not isinstance(items, list) or not items:
        problem("criterion", "No criteria given. Add at least one [[criterion]] table.")
        items = []
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        c = _parse_criterion(item, n, rag, problem)
        if c is None:
            continue
        if c.id in seen:
            problem(f"criterion {n}", f"The id '{c.id}' is used twice. Give each criterion its own id.")
        seen.add(c.id)
        criteria.append(c)
    if problems:
        raise ValidationError(problems)
    return CriteriaSet(rag=rag, criteria=tuple(criteria))


def _parse_rag(raw: Any, problem) -> RagScale:
    if not isinstance(raw, Mapping):
        problem("rag", "[rag] must be a table with 'levels' and 'team'.")
        return RagScale()
    for key in sorted(set(raw) - _RAG_KEYS):
        problem(f"rag.{key}", f"Unknown key '{key}' in [rag]. Allowed keys: levels, team.")
    levels = tuple(raw.get("levels", THREE_LEVELS))
    if not (2 <= len(levels) <= 7) or not all(isinstance(x, str) and x.strip() for x in levels) \
            or len(set(levels)) != len(levels):
        problem("rag.levels", 'RAG levels must be 2 to 7 distinct names, worst first, '
                'for example ["Red", "Amber", "Green"].')
        levels = THREE_LEVELS
    default_team = {"Green": 80.0, "Amber": 50.0} if levels == THREE_LEVELS else {}
    team = _thresholds(raw.get("team", default_team), levels, (0.0, 100.0), "rag.team", problem)
    if not team:
        problem("rag.team", "Give the lowest team score (0-100) for each status above "
                f"'{levels[0]}', for example team = {{ {levels[-1]} = 80 }}.")
    return RagScale(levels=levels, team=team)


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
    for key in sorted(set(item) - _CRITERION_KEYS):
        problem(where, f"Unknown key '{key}'. Allowed keys: {', '.join(sorted(_CRITERION_KEYS))}.")
    missing = [k for k in _REQUIRED_CRITERION_KEYS if k not in item]
    if missing:
        problem(where, f"Missing {', '.join(missing)}. Every criterion needs "
                f"{', '.join(_REQUIRED_CRITERION_KEYS)}.")
        return None
    if not isinstance(cid, str) or not cid.strip() or not cid.replace("_", "").isalnum():
        problem(where, "The id must be a short word of letters, digits and underscores, such as 'naming'.")
        return None
    name = item["name"]
    if not isinstance(name, str) or not name.strip():
        problem(where, "The name must be non-empty text.")
        return None
    scale = item["scale"]
    if scale not in SCALES:
        problem(where, f"Unknown scale {scale!r}. Use one of: {', '.join(SCALES)}.")
        return None
    levels: tuple[str, ...] = ()
    if scale == "level":
        levels = tuple(item.get("levels", DEFAULT_LEVEL_LABELS))
        if len(levels) < 2 or not all(isinstance(x, str) and x.strip() for x in levels) \
                or len({x.strip().lower() for x in levels}) != len(levels):
            problem(where, "A 'level' scale needs at least two distinct level labels, lowest first.")
            return None
    elif "levels" in item:
        problem(where, f"Only a 'level' scale has levels; remove 'levels' from this {scale} criterion.")
    top = {"level": len(levels) - 1, "percent": 100, "yesno": 1}[scale]
    thresholds = _thresholds(item["rag"], rag.levels, (0.0, float(top)), f"{where} rag", problem)
    if not thresholds:
        problem(where, f"Give at least one RAG threshold, such as rag = {{ {rag.levels[-1]} = {top} }}.")
        return None
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        problem(where, f"The weight must be a number above 0; it is {weight!r}.")
        return None
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problem(where, "aliases must be a list of text, such as [\"file naming\"].")
        return None
    guidance = item["guidance"]
    c = Criterion(
        id=cid.strip(), name=name.strip(), description=str(item.get("description", "")).strip(),
        scale=scale, levels=levels, rag=thresholds, weight=float(weight),
        aliases=tuple(a.strip() for a in aliases if a.strip()),
        guidance=tuple(guidance) if isinstance(guidance, list) else (),
    )
    if not isinstance(guidance, list) or not all(isinstance(g, str) and g.strip() for g in guidance) \
            or len(guidance) != c.guidance_needed:
        problem(where, f"guidance must be a list of {c.guidance_needed} non-empty text entries: "
                "how to move up from each level below the top.")
        return None
    return c
