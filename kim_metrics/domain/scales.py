"""Scales: how a criterion's values are written, read, counted and explained.

A criterion in ``criteria.toml`` names its scale (``scale = "level"``). The scale holds every
rule that depends on it: which keys of the criterion's table it reads (``levels``), its top
value, how a value reads to a person, the template's drop-down, the accepted values a
message names, how guidance steps up, which values a challenge may set, and how a cell a
person typed becomes a value. The rest of the code asks the scale; nothing outside this
module branches on a scale's name.

Adding a scale is one registration: subclass ``Scale``, give it a ``name`` and decorate it
with ``@register``. Values on every scale run from 0 to ``top``; the team score makes them
0-100 as ``value / top * 100``.

Reading a cell is split with ``reading.matching``: matching works out what kind of thing the
cell holds (a number, text with a ``%`` sign, TRUE/FALSE, words) and the scale says what that
means on it. A ``Reading`` is ``(value, None)`` or ``(None, a message saying how to fix it)``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kim_metrics.domain.names import norm_key

Reading = tuple[float | None, str | None]
Bands = Sequence[tuple[float, str]]   # lowest value of each status band, worst first

YES_WORDS = frozenset({"yes", "y", "true", "t"})
NO_WORDS = frozenset({"no", "n", "false", "f"})


class ScaleProblem(ValueError):
    """A criterion's table does not describe a valid scale; the message says how to fix it."""


class Scale(ABC):
    """The rules of one kind of scale, for one criterion.

    Subclasses set ``name`` (the word used in ``criteria.toml``), ``keys`` (criterion keys
    the scale reads besides the common ones) and ``stepped`` (values are whole steps from 0
    to ``top``, each with its own guidance, rather than any number in that range).
    """

    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()
    stepped: ClassVar[bool] = True
    # A percentage-formatted spreadsheet cell holds a fraction: Excel stores 85 % as 0.85.
    fraction_cells: ClassVar[bool] = False

    # Building from and writing back to the criteria file ----------------------------------

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Scale:
        """The scale a criterion's table describes; ``ScaleProblem`` when it cannot be built."""
        return cls()

    def to_table(self) -> dict[str, Any]:
        """The scale's own keys, as ``from_table`` reads them back."""
        return {}

    # What values there are ----------------------------------------------------------------

    @property
    @abstractmethod
    def top(self) -> float:
        """The highest value."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Names for the values 0, 1, 2, ... (empty when values are plain numbers)."""
        return ()

    @property
    def levels(self) -> tuple[str, ...]:
        """The level labels a ``levels`` key declared (empty for other scales)."""
        return ()

    def aliases(self) -> Mapping[str, float]:
        """Other words (already made into keys by ``norm_key``) that mean a value."""
        return {}

    def to_percent(self, values: Any) -> np.ndarray:
        return np.asarray(values, dtype=float) / self.top * 100.0

    def valid(self, value: float) -> bool:
        """Whether ``value`` lies on the scale (a challenge may set only such a value)."""
        if not math.isfinite(value) or not 0 <= value <= self.top:
            return False
        return value == int(value) if self.stepped else True

    def challenge_values(self) -> list[float] | None:
        """The values a reviewer picks from; None when any number from 0 to ``top`` will do."""
        return [float(v) for v in range(int(self.top) + 1)] if self.stepped else None

    # How values read -----------------------------------------------------------------------

    @abstractmethod
    def label(self, value: float) -> str:
        """How a value reads to a person: a level's label, "85%", "Yes"."""

    def at_least(self, value: float) -> str:
        """A band's lowest value as a requirement: "Fully embedded", "At least 90%"."""
        return self.label(value)

    def lowest(self) -> str:
        """The lowest value as a sentence quotes it: 'Not started', 0%."""
        text = self.label(0.0)
        return f"'{text}'" if self.labels else text

    def choices(self) -> list[str]:
        """The template's drop-down; empty when a number is typed instead."""
        return list(self.labels)

    @abstractmethod
    def accepted(self) -> str:
        """The accepted values, as a message names them."""

    @abstractmethod
    def describe(self) -> str:
        """The scale in a few words, for the template's guidance sheet."""

    @abstractmethod
    def explain(self) -> str:
        """The scale with every value spelled out, for the criteria editor."""

    def prompt(self) -> str:
        """What the template's input message asks for a typed (not chosen) score."""
        return f"Enter a whole number from 0 to {self.top:g}."

    # Guidance ------------------------------------------------------------------------------

    def guidance_needed(self, thresholds: Mapping[str, float]) -> int:
        """How many guidance entries a criterion needs: one per step below the top."""
        return int(self.top)

    def next_step(self, value: float, bands: Bands) -> tuple[float, int] | None:
        """The value to reach next and which guidance entry says how, or None at the top."""
        if value >= self.top:
            return None
        step = int(math.floor(value))
        return float(step + 1), step

    def steps_up(self, bands: Bands, guidance: Sequence[str]) -> list[str]:
        """Each guidance entry with the value it moves a team up from."""
        return [f"From {self.label(float(i))}: {text}" for i, text in enumerate(guidance)]

    # Reading a cell ------------------------------------------------------------------------

    def from_number(self, x: float, name: str, *, percent_cell: bool = False) -> Reading:
        """A number a person typed (or a number cell)."""
        if x != int(x) or not 0 <= x <= self.top:
            return None, (f"{x:g} is not a value of '{name}'. Use a whole number from 0 to "
                          f"{self.top:g}" + (f" or a label: {', '.join(self.labels)}." if self.labels else "."))
        return x, None

    def from_percent(self, x: float, name: str) -> Reading | None:
        """Text with a ``%`` sign, as that many percent; None when the scale has no percentages."""
        return None

    def from_flag(self, flag: bool, name: str) -> Reading | None:
        """A TRUE/FALSE cell; None when the scale has no yes/no values."""
        return None

    def from_words(self, key: str) -> float | None:
        """Words (made a key by ``norm_key``) that name a value as a whole; None otherwise.

        A label matches only as a whole, never on its end: "Not yet fully embedded" is not
        "Fully embedded".
        """
        for i, label in enumerate(self.labels):
            if norm_key(label) == key:
                return float(i)
        return self.aliases().get(key)


SCALES: dict[str, type[Scale]] = {}


def register(cls: type[Scale]) -> type[Scale]:
    """Make a scale available to criteria files under ``cls.name``."""
    SCALES[cls.name] = cls
    return cls


def scale_names() -> tuple[str, ...]:
    return tuple(SCALES)


def scale_keys() -> dict[str, tuple[str, ...]]:
    """Every scale's own criterion keys: scale name → keys."""
    return {name: cls.keys for name, cls in SCALES.items()}


def build_scale(name: str, table: Mapping[str, Any]) -> Scale:
    """The named scale built from a criterion's table; ``ScaleProblem`` if it cannot be."""
    if name not in SCALES:
        raise ScaleProblem(f"Unknown scale {name!r}. Use one of: {', '.join(SCALES)}.")
    return SCALES[name].from_table(table)


# The scales ------------------------------------------------------------------------------

DEFAULT_LEVEL_LABELS = ("Not started", "Partly in place", "Mostly in place", "Fully embedded")


@register
@dataclass(frozen=True)
class LevelScale(Scale):
    """Ordered labels, lowest first; a value is a label's position."""

    name: ClassVar[str] = "level"
    keys: ClassVar[tuple[str, ...]] = ("levels",)
    level_labels: tuple[str, ...] = DEFAULT_LEVEL_LABELS

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Scale:
        raw = table.get("levels", DEFAULT_LEVEL_LABELS)
        if not isinstance(raw, (list, tuple)) or len(raw) < 2 \
                or not all(isinstance(x, str) and x.strip() for x in raw) \
                or len({norm_key(x) for x in raw}) != len(raw) or not all(norm_key(x) for x in raw):
            raise ScaleProblem("A 'level' scale needs at least two distinct level labels, lowest "
                               "first, each with a letter or digit in it.")
        return cls(tuple(x.strip() for x in raw))

    def to_table(self) -> dict[str, Any]:
        return {"levels": list(self.level_labels)}

    @property
    def top(self) -> float:
        return float(len(self.level_labels) - 1)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.level_labels

    @property
    def levels(self) -> tuple[str, ...]:
        return self.level_labels

    def label(self, value: float) -> str:
        return self.level_labels[int(round(value))]

    def accepted(self) -> str:
        return f"0 to {self.top:g}, or one of: {', '.join(self.level_labels)}"

    def describe(self) -> str:
        return f"Levels 0 to {self.top:g}"

    def explain(self) -> str:
        return "level: " + ", ".join(f"{i} {label}" for i, label in enumerate(self.level_labels))

    def from_number(self, x: float, name: str, *, percent_cell: bool = False) -> Reading:
        if x != int(x) or not 0 <= x <= self.top:
            return None, (f"{x:g} is not a level of '{name}'. Use a whole number from 0 to "
                          f"{self.top:g} or a label: {', '.join(self.level_labels)}.")
        return x, None


@register
@dataclass(frozen=True)
class PercentScale(Scale):
    """Any number from 0 to 100; guidance is one entry per status band below the best."""

    name: ClassVar[str] = "percent"
    stepped: ClassVar[bool] = False
    fraction_cells: ClassVar[bool] = True

    @property
    def top(self) -> float:
        return 100.0

    def label(self, value: float) -> str:
        return f"{value:g}%"

    def at_least(self, value: float) -> str:
        return f"At least {value:g}%"

    def accepted(self) -> str:
        return "a percentage from 0 to 100, such as 85 or 85%"

    def describe(self) -> str:
        return "Percentage"

    def explain(self) -> str:
        return "percent: 0-100"

    def prompt(self) -> str:
        return "Enter a whole percentage from 0 to 100 (for example 85)."

    def guidance_needed(self, thresholds: Mapping[str, float]) -> int:
        return len(thresholds)

    def next_step(self, value: float, bands: Bands) -> tuple[float, int] | None:
        for i, (lowest, _status) in enumerate(bands[1:]):
            if value < lowest:
                return lowest, i
        return None

    def steps_up(self, bands: Bands, guidance: Sequence[str]) -> list[str]:
        return [(f"Below {upper:g}%" if lower == 0 else f"From {lower:g}% to below {upper:g}%")
                + f": {text}"
                for (lower, _), (upper, _), text in zip(bands, bands[1:], guidance)]

    def from_number(self, x: float, name: str, *, percent_cell: bool = False) -> Reading:
        # A bare number between 0 and 1 is a fraction (a percentage cell read on its own).
        if percent_cell or 0 < x < 1:
            x *= 100.0
        return self._within(x, name)

    def from_percent(self, x: float, name: str) -> Reading:
        # "0.5%" is half a percent: the sign says the number is already a percentage.
        return self._within(x, name)

    def _within(self, x: float, name: str) -> Reading:
        if not 0 <= x <= 100:
            return None, f"{x:g} is outside 0-100 for '{name}'. Enter a percentage from 0 to 100."
        return round(x, 6), None


@register
@dataclass(frozen=True)
class YesNoScale(Scale):
    """No (0) or Yes (1)."""

    name: ClassVar[str] = "yesno"

    @property
    def top(self) -> float:
        return 1.0

    @property
    def labels(self) -> tuple[str, ...]:
        return ("No", "Yes")

    def choices(self) -> list[str]:
        return ["Yes", "No"]

    def aliases(self) -> Mapping[str, float]:
        return {**{w: 1.0 for w in YES_WORDS}, **{w: 0.0 for w in NO_WORDS}}

    def label(self, value: float) -> str:
        return "Yes" if value >= 1 else "No"

    def accepted(self) -> str:
        return "Yes or No"

    def describe(self) -> str:
        return "Yes or No"

    def explain(self) -> str:
        return "yes/no: 1 Yes, 0 No"

    def from_number(self, x: float, name: str, *, percent_cell: bool = False) -> Reading:
        if x in (0.0, 1.0):
            return x, None
        return None, f"{x:g} is not a Yes/No answer for '{name}'. Enter Yes or No (or 1 / 0)."

    def from_flag(self, flag: bool, name: str) -> Reading:
        return (1.0 if flag else 0.0), None

