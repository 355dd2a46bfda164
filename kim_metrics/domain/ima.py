"""The Information Management Assessment (IMA): its framework, and the rules for comparing
assessments and for the action plan.

**The framework** is a file of fixed shape (``data/ima_framework.toml``): areas, each with
sub-areas (id, name, description), and the rating scale, worst first, each rating with an id,
the word people read and a colour. It is declared here as pydantic models that forbid any
key not in the shape, so a mistake in the file is refused with a message that names the key
and where it is. The rating scale is a ``StatusSet`` like the league's RAG scale: the file's
colours override the defaults, and the text colour and shape come with it.

**Comparing two assessments**, sub-area by sub-area, the rating in the earlier one (A) and
in the later one (B) give the change:

* ``improved``: B's rating is better than A's (higher on the scale, worst first);
* ``same``: both assessments gave the same rating;
* ``declined``: B's rating is worse than A's;
* ``unrated``: A or B (or both) did not rate the sub-area, for example a progress review
  that looked at some sub-areas only. Nothing is inferred from a missing rating: it is
  never counted as the worst rating, so it can be neither an improvement nor a decline.

``steps`` is how many places on the scale the rating moved (negative for a decline); it is
None when the change is ``unrated``.

**The action plan.** A recommendation is made by an assessment for an area (and perhaps one
of its sub-areas). Each of its actions has a status, one of ``not started``, ``in progress``,
``delivered`` and ``closed``. Closing an action is the KIM team's sign-off that it was
delivered, so only a delivered action can be closed, and the closure records who signed it
off and when; reopening a closed action clears the sign-off. A recommendation is open while
it has no actions or any action that is not closed; the open ones flagged as next steps are
the "Next steps" list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticError

import pandas as pd

from kim_metrics.domain.errors import NotFoundError, Problem, ProblemCode, ValidationError
from kim_metrics.domain.names import did_you_mean, norm_key
from kim_metrics.domain.statuses import StatusSet

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
# Shipped inside the package, like the criteria (``data/ima_framework.toml`` links to it).
DEFAULT_FRAMEWORK_PATH = Path(__file__).resolve().parents[1] / "data" / "ima_framework.toml"

# Kinds of assessment, as stored, and how they read.
ASSESSMENT, PROGRESS_REVIEW = "assessment", "progress review"
KINDS = (ASSESSMENT, PROGRESS_REVIEW)
KIND_LABELS = {ASSESSMENT: "Assessment", PROGRESS_REVIEW: "Progress review"}

# Comparison of two ratings of one sub-area.
IMPROVED, SAME, DECLINED, UNRATED = "improved", "same", "declined", "unrated"
CHANGES = (IMPROVED, SAME, DECLINED, UNRATED)

# Plan actions, worst (furthest from done) first.
NOT_STARTED, IN_PROGRESS, DELIVERED, CLOSED = "not started", "in progress", "delivered", "closed"
ACTION_STATUSES = (NOT_STARTED, IN_PROGRESS, DELIVERED, CLOSED)
ACTION_LABELS = {s: s.capitalize() for s in ACTION_STATUSES}
ACTION_STATUS_SET = StatusSet(tuple(ACTION_LABELS.values()))

PRIORITIES = ("high", "medium", "low")
PRIORITY_LABELS = {p: p.capitalize() for p in PRIORITIES}


# The framework file ------------------------------------------------------------------------

Id = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Colour = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^#[0-9A-Fa-f]{6}$")]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rating(_Shape):
    id: Id
    name: Name
    colour: Colour
    description: str = ""


class SubArea(_Shape):
    id: Id
    name: Name
    description: str = ""


class Area(_Shape):
    id: Id
    name: Name
    description: str = ""
    sub_area: tuple[SubArea, ...] = Field(min_length=1)


class Framework(_Shape):
    """Areas, their sub-areas and the rating scale, as the file gives them (worst rating first)."""

    name: Name = "Information Management Assessment"
    assessor: str = "The National Archives"
    rating: tuple[Rating, ...] = Field(min_length=2, max_length=7)
    area: tuple[Area, ...] = Field(min_length=1)

    @property
    def ratings(self) -> tuple[Rating, ...]:
        return self.rating

    @property
    def areas(self) -> tuple[Area, ...]:
        return self.area

    @cached_property
    def sub_areas(self) -> tuple[SubArea, ...]:
        return tuple(s for a in self.area for s in a.sub_area)

    @cached_property
    def _area_of(self) -> dict[str, Area]:
        return {s.id: a for a in self.area for s in a.sub_area}

    @cached_property
    def statuses(self) -> StatusSet:
        """The rating scale as a status set: names worst first, the file's colours."""
        return StatusSet(tuple(r.name for r in self.rating), {r.name: r.colour for r in self.rating})

    def get_area(self, area_id: str) -> Area:
        for a in self.area:
            if a.id == area_id:
                return a
        raise KeyError(area_id)

    def get_sub_area(self, sub_area_id: str) -> SubArea:
        for s in self.sub_areas:
            if s.id == sub_area_id:
                return s
        raise KeyError(sub_area_id)

    def area_of(self, sub_area_id: str) -> Area:
        return self._area_of[sub_area_id]

    def get_rating(self, rating_id: str) -> Rating:
        for r in self.rating:
            if r.id == rating_id:
                return r
        raise KeyError(rating_id)

    def position(self, rating_id: str) -> int:
        """0 for the worst rating."""
        return [r.id for r in self.rating].index(rating_id)

    def rating_name(self, rating_id: str | None) -> str | None:
        return None if rating_id is None else self.get_rating(rating_id).name


_MODELS: dict[tuple[str, ...], type[_Shape]] = {
    (): Framework, ("rating",): Rating, ("area",): Area, ("area", "sub_area"): SubArea,
}
_WHAT = {Framework: "the framework", Rating: "a rating", Area: "an area", SubArea: "a sub-area"}


def load_framework(source: str | Path | None = None) -> Framework:
    """Read a framework file (the shipped one when ``source`` is None)."""
    path = Path(source) if source is not None else DEFAULT_FRAMEWORK_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError([Problem(str(path), None, None, None,
                                       "The framework file does not exist. Check the path.",
                                       code=ProblemCode.FILE_NOT_FOUND)]) from None
    except UnicodeDecodeError:
        raise ValidationError([Problem(path.name, None, None, None, "The framework file is not UTF-8 "
                                       "text. Save it as UTF-8 and try again.",
                                       code=ProblemCode.FILE_UNREADABLE)]) from None
    return parse_framework(text, file_name=path.name)


def parse_framework(text: str, *, file_name: str = "ima_framework.toml") -> Framework:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file_name, None, None, None,
                                       f"The framework file is not valid TOML ({exc}). Fix the line "
                                       "it names and load it again.",
                                       code=ProblemCode.FILE_UNREADABLE)]) from None
    return framework_from_dict(raw, file_name=file_name)


def framework_from_dict(raw: Mapping[str, Any], *, file_name: str = "framework") -> Framework:
    """Build and check a framework; every problem is reported at once, each where it is."""
    try:
        framework = Framework.model_validate(raw)
    except PydanticError as exc:
        raise ValidationError([_problem(file_name, raw, e) for e in exc.errors()]) from None
    problems = [Problem(file_name, None, None, where, message, code=ProblemCode.DUPLICATE)
                for where, message in _duplicates(framework)]
    if problems:
        raise ValidationError(problems)
    return framework


def _duplicates(f: Framework) -> list[tuple[str, str]]:
    out = []

    def unique(items: Iterable[Any], kind: str) -> None:
        seen_ids: set[str] = set()
        seen_names: dict[str, str] = {}
        for item in items:
            if item.id in seen_ids:
                out.append((f"{kind} '{item.id}'", f"The id '{item.id}' is used twice. Give each "
                            f"{kind.replace('_', '-')} its own id."))
            seen_ids.add(item.id)
            key = _NON_ALNUM.sub("", item.name).lower()  # as workbooks match names
            if key in seen_names:
                out.append((f"{kind} '{item.id}'", f"The name '{item.name}' reads the same as "
                            f"'{seen_names[key]}'. Workbooks match names ignoring case, spaces and "
                            "punctuation, so give each a different name."))
            seen_names.setdefault(key, item.name)

    unique(f.rating, "rating")
    unique(f.area, "area")
    unique(f.sub_areas, "sub_area")
    return out


def _problem(file_name: str, raw: Any, error: Mapping[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    key = str(loc[-1]) if loc else ""
    # A key that is unknown or missing is reported where it belongs: at its table.
    at = loc[:-1] if kind in ("extra_forbidden", "missing") else loc
    model = _MODELS.get(tuple(p for p in at if isinstance(p, str)), Framework)
    allowed = ", ".join(model.model_fields)
    table = ".".join(p for p in loc if isinstance(p, str))
    if kind == "extra_forbidden":
        message = (f"Unknown key '{key}'. Allowed keys in {_WHAT[model]}: {allowed}; remove it or "
                   "fix its spelling.")
    elif kind == "missing":
        needed = ", ".join(n for n, f in model.model_fields.items() if f.is_required())
        message = f"Missing '{key}'. Every {_WHAT[model].split(' ', 1)[1]} needs {needed}."
    elif kind == "string_pattern_mismatch" and key == "id":
        message = (f"The id must be a short word of lower-case letters, digits and underscores, "
                   f"such as 'establishing_control'; it is {error.get('input')!r}.")
    elif kind == "string_pattern_mismatch" and key == "colour":
        message = (f"The colour must be written #RRGGBB, such as \"#00703C\"; it is "
                   f"{error.get('input')!r}.")
    elif kind == "string_too_short":
        message = f"'{key}' must not be empty."
    elif kind == "too_short" and key == "rating":
        message = "Give at least two ratings, worst first, each as a [[rating]] table."
    elif kind == "too_long" and key == "rating":
        message = "Give at most seven ratings; a longer scale cannot be told apart by colour."
    elif kind == "too_short":
        message = f"Give at least one [[{table}]] table here."
    elif kind in ("tuple_type", "list_type"):
        message = f"'{key}' must be a list of tables, written [[{table}]]."
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"This must be a table of keys ({allowed})."
    elif kind == "string_type":
        message = f"'{key}' must be text in quotes."
    else:
        message = f"'{key}': {error['msg']}."
    return Problem(file_name, None, None, _where(raw, at) or None, message,
                   code=ProblemCode.BAD_DEFINITION)


def _where(raw: Any, loc: Sequence[Any]) -> str:
    """A location people can find in the file: "area 'value_of_information' › sub_area 2"."""
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            name = item.get("id") if isinstance(item, Mapping) else None
            label = parts.pop() if parts else "item"
            parts.append(f"{label} '{name}'" if isinstance(name, str) and name.strip()
                         else f"{label} {step + 1}")
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, Mapping) else None
    return " › ".join(parts)


# Assessments and comparison ----------------------------------------------------------------

@dataclass(frozen=True)
class Assessment:
    name: str
    kind: str
    date: date
    assessor: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def change(framework: Framework, before: str | None, after: str | None) -> tuple[str, int | None]:
    """The change from rating ``before`` to rating ``after`` (rating ids; None = not rated),
    and how many places on the scale it moved."""
    if before is None or after is None:
        return UNRATED, None
    steps = framework.position(after) - framework.position(before)
    return (IMPROVED if steps > 0 else DECLINED if steps < 0 else SAME), steps


@dataclass(frozen=True)
class SubAreaChange:
    area_id: str
    area: str
    sub_area_id: str
    sub_area: str
    before: str | None      # rating names
    after: str | None
    change: str
    steps: int | None

    def as_dict(self) -> dict[str, object]:
        return {"area": self.area, "area_id": self.area_id, "sub_area": self.sub_area,
                "sub_area_id": self.sub_area_id, "from": self.before, "to": self.after,
                "change": self.change, "steps": self.steps}


def compare(framework: Framework, before: Mapping[str, str], after: Mapping[str, str]
            ) -> list[SubAreaChange]:
    """Every sub-area of the framework, in its order: rating in A, in B, and the change.

    ``before`` and ``after`` map sub-area id → rating id; a sub-area missing from either is
    ``unrated``.
    """
    out = []
    for area in framework.area:
        for sub in area.sub_area:
            a, b = before.get(sub.id), after.get(sub.id)
            kind, steps = change(framework, a, b)
            out.append(SubAreaChange(area.id, area.name, sub.id, sub.name, framework.rating_name(a),
                                     framework.rating_name(b), kind, steps))
    return out


# The action plan ---------------------------------------------------------------------------

def status_change_problem(before: str, after: str) -> str | None:
    """Why an action cannot move from ``before`` to ``after``; None when it can."""
    if after not in ACTION_STATUSES:
        return f"'{after}' is not an action status. Use one of: {', '.join(ACTION_STATUSES)}."
    if after == CLOSED and before not in (DELIVERED, CLOSED):
        return ("Only a delivered action can be closed: closing signs off its delivery. Mark it "
                "delivered first, then sign off its closure.")
    return None


def recommendation_open(action_statuses: Sequence[str]) -> bool:
    """Open while it has no actions or any action that is not closed."""
    return not action_statuses or any(s != CLOSED for s in action_statuses)


# The department's record ---------------------------------------------------------------

RISING, FALLING, STEADY, FIRST = "rising", "falling", "steady", "first round"


@dataclass(frozen=True)
class Narrative:
    situation: str = ""
    progress: str = ""


@dataclass(frozen=True)
class ImaRecord:
    framework: Framework
    assessments: tuple[Assessment, ...]               # oldest first
    ratings: Mapping[str, Mapping[str, str]]          # assessment → sub-area id → rating id
    narratives: Mapping[str, Mapping[str, Narrative]]  # assessment → area id → narrative
    actions: pd.DataFrame                             # storage.ima.ACTION_COLUMNS

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.assessments]

    def assessment(self, name: str) -> Assessment:
        """The assessment called ``name`` (case and punctuation ignored), or a helpful error."""
        for a in self.assessments:
            if norm_key(a.name) == norm_key(name):
                return a
        raise NotFoundError(f"There is no assessment '{name}'." + did_you_mean(name, self.names)
                            + (f" Assessments: {', '.join(self.names)}." if self.names else
                               " None is loaded yet: load a workbook with `kim ima load FILE`."))

    def previous(self, name: str) -> Assessment | None:
        at = self.names.index(self.assessment(name).name)
        return self.assessments[at - 1] if at > 0 else None


@dataclass(frozen=True)
class LeagueEvidence:
    """For each sub-area, the criteria that evidence it and the department's standing on them."""

    rounds: tuple[str, ...]
    # One row per sub-area × criterion × round: sub_area_id, criterion_id, criterion, round,
    # percent (department mean 0-100), status (the criterion's RAG for that mean).
    rows: pd.DataFrame
    mapping: Mapping[str, str] = field(default_factory=dict)   # criterion id → sub-area id

    def summary(self, sub_area_id: str | None = None) -> pd.DataFrame:
        """One row per mapped criterion: its latest department status and its trend."""
        frame = self.rows if sub_area_id is None else self.rows[self.rows["sub_area_id"] == sub_area_id]
        out = []
        for (sub, cid), group in frame.groupby(["sub_area_id", "criterion_id"], sort=False):
            known = group[group["percent"].notna()]
            latest = known.iloc[-1] if len(known) else None
            before = known.iloc[-2] if len(known) > 1 else None
            if latest is None:
                trend = ""
            elif before is None:
                trend = FIRST
            else:
                delta = latest["percent"] - before["percent"]
                trend = RISING if delta > 0 else FALLING if delta < 0 else STEADY
            out.append({"sub_area_id": sub, "criterion_id": cid, "criterion": group.iloc[0]["criterion"],
                        "round": latest["round"] if latest is not None else None,
                        "percent": latest["percent"] if latest is not None else None,
                        "status": latest["status"] if latest is not None else None,
                        "trend": trend,
                        "history": " → ".join(f"{p:.0f}" for p in known["percent"])})
        return pd.DataFrame(out, columns=["sub_area_id", "criterion_id", "criterion", "round", "percent",
                                          "status", "trend", "history"])


def plan(rec: ImaRecord, status: str | None = None) -> pd.DataFrame:
    """The action plan, one row per action, with area and sub-area names and whether its
    recommendation is open; ``status`` keeps only the actions with that status."""
    frame = rec.actions.copy()
    f = rec.framework
    frame["area_name"] = frame["area"].map(lambda a: f.get_area(a).name)
    frame["sub_area_name"] = frame["sub_area"].map(lambda s: f.get_sub_area(s).name if s else "")
    open_recs = {rid: recommendation_open([s for s in group["status"] if isinstance(s, str)])
                 for rid, group in frame.groupby("recommendation_id")}
    frame["open"] = frame["recommendation_id"].map(open_recs).astype(bool)
    if status is not None:
        frame = frame[frame["status"] == status]
    return frame.reset_index(drop=True)


def next_steps(rec: ImaRecord) -> pd.DataFrame:
    """Open recommendations flagged as next steps, oldest assessment first: one row each."""
    frame = plan(rec)
    flagged = frame[frame["next_step"] & frame["open"]]
    rows = []
    for rid, group in flagged.groupby("recommendation_id", sort=False):
        first = group.iloc[0]
        statuses = [s for s in group["status"] if isinstance(s, str)]
        rows.append({"recommendation_id": int(rid), "recommendation": first["recommendation"],
                     "assessment": first["assessment"], "area": first["area_name"],
                     "priority": PRIORITY_LABELS.get(first["priority"], ""),
                     "repeated_at": first["repeated_at"] or "",
                     "actions": len(statuses),
                     "delivered": sum(s in (DELIVERED, CLOSED) for s in statuses)})
    return pd.DataFrame(rows, columns=["recommendation_id", "recommendation", "assessment", "area",
                                       "priority", "repeated_at", "actions", "delivered"])
