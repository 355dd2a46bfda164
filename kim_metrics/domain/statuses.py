"""Status sets: ordered status names, worst first, and how each one looks.

A status set is a declaration: the team RAG scale (three or five levels, or a department's
own names), a criterion's bands and the Information Management Assessment's four ratings are
all status sets. Each status has a fill colour, a text colour with WCAG 2.2 AA contrast
against it, and a shape, because status is never shown by colour alone: every coloured cell
carries its word too.

Colour rules, in order: a colour the department gave for the status; the default for a
known name (the GOV.UK palette where it passes 4.5:1 against the text on it); otherwise a
colour picked by the status's position in its set, from red (worst) to green (best), so a
name nobody has met before is still drawn in colour. The text colour is black or white,
whichever contrasts more with the fill; one of them always reaches 4.5:1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

NO_RETURN = "No return"
WCAG_AA_TEXT = 4.5
BLACK, WHITE = "#000000", "#FFFFFF"

RED, AMBER_RED, AMBER, AMBER_GREEN, GREEN = "#B10E1E", "#E15A20", "#FFBF47", "#A5C85A", "#00703C"
NO_RETURN_COLOUR = "#505A5F"
# Worst to best; a status with no colour of its own takes the one at its place in its set.
PALETTE = (RED, AMBER_RED, AMBER, AMBER_GREEN, GREEN)
# Shapes, worst to best, so statuses can be told apart without colour.
SYMBOLS = ("●", "◕", "◑", "◔", "○")
NO_RETURN_SYMBOL = "–"

DEFAULT_COLOURS: dict[str, str] = {
    "Red": RED, "Amber/Red": AMBER_RED, "Amber": AMBER, "Amber/Green": AMBER_GREEN, "Green": GREEN,
    # The National Archives' Information Management Assessment ratings.
    "Development area": RED, "Progressing towards satisfactory": AMBER,
    "Satisfactory": AMBER_GREEN, "Good practice": GREEN,
}

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class StatusStyle:
    background: str
    text: str
    symbol: str   # a shape as well as a colour, for people who cannot tell the colours apart


def is_colour(value: object) -> bool:
    """True for a colour written as ``#RRGGBB``."""
    return isinstance(value, str) and bool(_HEX.match(value))


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two colours, from 1 to 21."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (always at least 4.5:1)."""
    return BLACK if contrast_ratio(BLACK, background) >= contrast_ratio(WHITE, background) else WHITE


def _at(items: Sequence[str], position: int, count: int) -> str:
    """The item at the same relative place in ``items`` as ``position`` is among ``count``."""
    if count <= 1:
        return items[-1]
    return items[round(position * (len(items) - 1) / (count - 1))]


@dataclass(frozen=True)
class StatusSet:
    """Statuses worst first, with the colours a department chose for any of them."""

    levels: tuple[str, ...]
    colours: Mapping[str, str] = field(default_factory=dict)

    def position(self, status: object) -> int:
        """0 for the worst status; -1 for "No return" or a name not in the set."""
        return self.levels.index(status) if status in self.levels else -1

    def colour(self, status: str) -> str:
        if status == NO_RETURN:
            return NO_RETURN_COLOUR
        if status in self.colours:
            return self.colours[status]
        if status in DEFAULT_COLOURS:
            return DEFAULT_COLOURS[status]
        return _at(PALETTE, self.position(status), len(self.levels))

    def style(self, status: object) -> StatusStyle | None:
        """How ``status`` is drawn; None for anything that is not one of the set's statuses."""
        if status == NO_RETURN:
            return StatusStyle(NO_RETURN_COLOUR, WHITE, NO_RETURN_SYMBOL)
        if not isinstance(status, str) or status not in self.levels:
            return None
        background = self.colour(status)
        return StatusStyle(background, text_colour(background),
                           _at(SYMBOLS, self.position(status), len(self.levels)))

    def styles(self) -> dict[str, StatusStyle]:
        """Every status, No return last, with its style: for legends and colour maps."""
        return {s: self.style(s) for s in (*self.levels, NO_RETURN)}  # type: ignore[misc]

    @property
    def best(self) -> str:
        return self.levels[-1]

    @property
    def worst(self) -> str:
        return self.levels[0]


THREE_LEVELS = ("Red", "Amber", "Green")
FIVE_LEVELS = ("Red", "Amber/Red", "Amber", "Amber/Green", "Green")
# Known names drawn where no set is at hand (the five RAG words cover the three).
KNOWN = StatusSet(FIVE_LEVELS)
RAG_STYLES: dict[str, StatusStyle] = KNOWN.styles()
RagStyle = StatusStyle


def rag_style(status: object, statuses: StatusSet | None = None) -> StatusStyle | None:
    """How ``status`` is drawn in ``statuses``; a name outside the set (a status from an
    earlier round's set, or no set given) is drawn as its known name is, if it is one."""
    if statuses is not None:
        style = statuses.style(status)
        if style is not None:
            return style
    if isinstance(status, str) and status in DEFAULT_COLOURS and status not in KNOWN.levels:
        background = DEFAULT_COLOURS[status]
        return StatusStyle(background, text_colour(background), "◑")
    return KNOWN.style(status)


def colour_problems(colours: Mapping[str, object], levels: Sequence[str]) -> list[str]:
    """What is wrong with a department's status colours, in words; empty when all is well."""
    problems = []
    for status, value in colours.items():
        if status not in levels:
            problems.append(f"'{status}' is not one of the statuses ({', '.join(levels)}).")
        elif not is_colour(value):
            problems.append(f"The colour for '{status}' must be written #RRGGBB, such as "
                            f"\"#00703C\"; it is {value!r}.")
    return problems
