"""Scales: each scale's rules as a table of known values, and a new scale as one registration.

Nothing outside ``domain/scales.py`` may branch on a scale's name; the last test reads the
code to hold that.
"""

from __future__ import annotations

import ast
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import openpyxl
import pandas as pd
import pytest

from kim_metrics.domain import scales
from kim_metrics.domain.criteria import parse_criteria
from kim_metrics.domain.errors import ValidationError
from kim_metrics.domain.scales import LevelScale, PercentScale, Scale, YesNoScale
from kim_metrics.domain.scoring import score_rows
from kim_metrics.reading.matching import parse_score
from kim_metrics.reports.template import write_template

PROJECT = Path(__file__).resolve().parent.parent
LEVEL = LevelScale()
PERCENT = PercentScale()
YESNO = YesNoScale()
THREE_BANDS = [(0.0, "Red"), (70.0, "Amber"), (90.0, "Green")]


def test_the_registry_holds_the_three_scales():
    assert scales.scale_names() == ("level", "percent", "yesno")
    assert scales.scale_keys() == {"level": ("levels",), "percent": (), "yesno": ()}


@pytest.mark.parametrize(("scale", "top", "labels", "choices", "accepted", "describe"), [
    (LEVEL, 3.0, ("Not started", "Partly in place", "Mostly in place", "Fully embedded"),
     ["Not started", "Partly in place", "Mostly in place", "Fully embedded"],
     "0 to 3, or one of: Not started, Partly in place, Mostly in place, Fully embedded", "Levels 0 to 3"),
    (PERCENT, 100.0, (), [], "a percentage from 0 to 100, such as 85 or 85%", "Percentage"),
    (YESNO, 1.0, ("No", "Yes"), ["Yes", "No"], "Yes or No", "Yes or No"),
])
def test_what_each_scale_declares(scale, top, labels, choices, accepted, describe):
    assert (scale.top, scale.labels, scale.choices(), scale.accepted(), scale.describe()) == (
        top, labels, choices, accepted, describe)


@pytest.mark.parametrize(("scale", "value", "label", "percent", "at_least"), [
    (LEVEL, 0, "Not started", 0.0, "Not started"), (LEVEL, 2, "Mostly in place", 200 / 3, "Mostly in place"),
    (LEVEL, 3, "Fully embedded", 100.0, "Fully embedded"),
    (PERCENT, 0, "0%", 0.0, "At least 0%"), (PERCENT, 85.5, "85.5%", 85.5, "At least 85.5%"),
    (YESNO, 0, "No", 0.0, "No"), (YESNO, 1, "Yes", 100.0, "Yes"),
])
def test_labels_and_percent(scale, value, label, percent, at_least):
    assert scale.label(value) == label
    assert float(scale.to_percent(value)) == pytest.approx(percent)
    assert scale.at_least(value) == at_least


@pytest.mark.parametrize(("scale", "value", "valid"), [
    (LEVEL, 0, True), (LEVEL, 3, True), (LEVEL, 1.5, False), (LEVEL, 4, False), (LEVEL, -1, False),
    (PERCENT, 0, True), (PERCENT, 85.5, True), (PERCENT, 100, True), (PERCENT, 100.1, False),
    (PERCENT, float("nan"), False), (PERCENT, float("inf"), False),
    (YESNO, 1, True), (YESNO, 0.5, False), (YESNO, 2, False),
])
def test_which_values_a_challenge_may_set(scale, value, valid):
    assert scale.valid(value) is valid


def test_challenge_choices():
    assert LEVEL.challenge_values() == [0.0, 1.0, 2.0, 3.0]
    assert YESNO.challenge_values() == [0.0, 1.0]
    assert PERCENT.challenge_values() is None


@pytest.mark.parametrize(("scale", "thresholds", "value", "step"), [
    (LEVEL, {"Green": 3, "Amber": 2}, 0, (1.0, 0)), (LEVEL, {"Green": 3, "Amber": 2}, 2, (3.0, 2)),
    (LEVEL, {"Green": 3, "Amber": 2}, 3, None),
    (YESNO, {"Green": 1}, 0, (1.0, 0)), (YESNO, {"Green": 1}, 1, None),
    (PERCENT, {"Green": 90, "Amber": 70}, 10, (70.0, 0)), (PERCENT, {"Green": 90, "Amber": 70}, 70, (90.0, 1)),
    (PERCENT, {"Green": 90, "Amber": 70}, 95, None),
])
def test_next_step(scale, thresholds, value, step):
    bands = [(0.0, "Red"), *sorted(((float(v), s) for s, v in thresholds.items()))]
    assert scale.next_step(value, bands) == step


@pytest.mark.parametrize(("scale", "thresholds", "needed"), [
    (LEVEL, {"Green": 3}, 3), (YESNO, {"Green": 1}, 1), (PERCENT, {"Green": 90, "Amber": 70}, 2),
    (PERCENT, {"Green": 90}, 1),
])
def test_guidance_needed(scale, thresholds, needed):
    assert scale.guidance_needed(thresholds) == needed


def test_steps_up():
    assert LEVEL.steps_up(THREE_BANDS, ["a", "b", "c"]) == [
        "From Not started: a", "From Partly in place: b", "From Mostly in place: c"]
    assert YESNO.steps_up(THREE_BANDS, ["a"]) == ["From No: a"]
    assert PERCENT.steps_up(THREE_BANDS, ["a", "b"]) == ["Below 70%: a", "From 70% to below 90%: b"]


# A new scale is one registration --------------------------------------------------------------

@dataclass(frozen=True)
class StarScale(Scale):
    """One to five stars, as a feedback form writes them: 0 is one star."""

    name: ClassVar[str] = "stars"
    keys: ClassVar[tuple[str, ...]] = ("stars_word",)
    word: str = "star"

    @classmethod
    def from_table(cls, table):
        return cls(table.get("stars_word", "star"))

    def to_table(self):
        return {"stars_word": self.word}

    @property
    def top(self) -> float:
        return 4.0

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{n} {self.word}{'s' if n > 1 else ''}" for n in range(1, 6))

    def label(self, value: float) -> str:
        return self.labels[int(round(value))]

    def accepted(self) -> str:
        return "one of: " + ", ".join(self.labels)

    def describe(self) -> str:
        return "Stars"

    def explain(self) -> str:
        return "stars: " + ", ".join(self.labels)


STARS = '''
[[criterion]]
id = "service"
name = "Service to colleagues"
scale = "stars"
stars_word = "star"
rag = { Green = 4, Amber = 2 }
guidance = ["a", "b", "c", "d"]

[[criterion]]
id = "naming"
name = "Naming convention used"
scale = "level"
rag = { Green = 3 }
guidance = ["a", "b", "c"]
'''


def test_a_new_scale_is_one_registration(monkeypatch):
    monkeypatch.setitem(scales.SCALES, StarScale.name, StarScale)
    criteria = parse_criteria(STARS)
    c = criteria.get("service")
    assert (c.scale, c.top, c.label(3), c.short) == ("stars", 4.0, "4 stars", "Service…")
    assert parse_criteria(criteria.to_toml()) == criteria
    # A cell reads by its labels and by number; a RAG word as the lowest value with its status.
    assert parse_score("4 Stars", c, criteria.rag) == (3.0, None)
    assert parse_score(2, c, criteria.rag) == (2.0, None)
    assert parse_score("Amber", c, criteria.rag) == (2.0, None)
    got, message = parse_score("six stars", c, criteria.rag)
    assert got is None and "one of: 1 star, 2 stars" in message
    # Guidance, scoring and the template follow without any other change.
    assert c.next_step(1, criteria.rag) == (2.0, "b")
    scored = score_rows(pd.DataFrame([{"team_id": 1, "criterion": "service", "claimed": 3.0,
                                       "evidence": "survey", "evidence_link": ""}]), criteria)
    assert scored.iloc[0]["percent"] == pytest.approx(75.0) and scored.iloc[0]["rag"] == "Amber"
    teams = pd.DataFrame({"team": ["Data Office"], "directorate": ["Digital"], "group": ["Corporate"]})
    book = openpyxl.load_workbook(io.BytesIO(write_template(io.BytesIO(), criteria=criteria, teams=teams,
                                                            round_label="2026-Q3")))
    assert [row[0] for row in book["Lists"].iter_rows(min_row=2, max_col=1, values_only=True)] == list(
        StarScale().labels)


def test_a_scale_key_on_another_scale_is_refused(monkeypatch):
    monkeypatch.setitem(scales.SCALES, StarScale.name, StarScale)
    with pytest.raises(ValidationError) as err:
        parse_criteria(STARS.replace('scale = "level"', 'scale = "level"\nstars_word = "x"'))
    [problem] = err.value.problems
    assert problem.column == "criterion 'naming'"
    assert "Only a 'stars' scale has stars_word; remove 'stars_word'" in problem.message


# Nothing outside scales.py branches on a scale's name -----------------------------------------

def _scale_branches(path: Path) -> list[str]:
    """Comparisons of a scale (or its name) with anything, and isinstance checks on scales."""
    names = set(scales.scale_names())
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            texts = [ast.unparse(p) for p in parts]
            about_scale = any("scale" in t or "measure" in t for t in texts)
            literals = {p.value for p in parts if isinstance(p, ast.Constant)}
            literals |= {e.value for p in parts if isinstance(p, (ast.Tuple, ast.List, ast.Set))
                         for e in p.elts if isinstance(e, ast.Constant)}
            if about_scale and (literals & names or any(t.endswith(".scale") for t in texts)):
                found.append(f"{path.relative_to(PROJECT)}:{node.lineno}")
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance" \
                and "Scale" in ast.unparse(node.args[-1]):
            found.append(f"{path.relative_to(PROJECT)}:{node.lineno}")
    return found


def test_no_code_outside_the_scales_module_branches_on_a_scale_name():
    files = [p for p in (PROJECT / "kim_metrics").rglob("*.py") if p.name != "scales.py"]
    files += [*(PROJECT / "pages").glob("*.py"), PROJECT / "dashboard.py"]
    offenders = [hit for path in files for hit in _scale_branches(path)]
    assert offenders == []
