"""The IMA framework file and the domain's rules: comparison and the action plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kim_metrics.domain.errors import ValidationError
from kim_metrics.domain.ima import (ACTION_STATUSES, CLOSED, DECLINED, DEFAULT_FRAMEWORK_PATH, DELIVERED,
                                    IMPROVED, IN_PROGRESS, NOT_STARTED, SAME, UNRATED, change, compare,
                                    load_framework, parse_framework, recommendation_open,
                                    status_change_problem)
from kim_metrics.domain.statuses import StatusSet, contrast_ratio

SHIPPED = DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8")
SUB_AREAS = ["communicating_and_realising_value", "managing_information_as_an_asset",
             "supporting_information_through_technology", "digital_continuity_and_it_change",
             "recognising_information_risk", "establishing_control", "providing_guidance",
             "measuring_impact", "oversight_of_records_and_selection", "implementing_disposal_decisions"]
SCALE = ["Development area", "Progressing towards satisfactory", "Satisfactory", "Good practice"]


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def test_shipped_framework_is_the_reviews(fw):
    assert [a.name for a in fw.areas] == [
        "The value of information", "Digital information and supporting technology",
        "Information risk, governance and oversight", "Records, review and transfer"]
    assert [s.id for s in fw.sub_areas] == SUB_AREAS
    assert [len(a.sub_area) for a in fw.areas] == [2, 2, 4, 2]
    assert [r.name for r in fw.ratings] == SCALE
    assert all(s.description for s in fw.sub_areas)


def test_rating_scale_is_a_status_set_with_the_files_colours(fw):
    assert isinstance(fw.statuses, StatusSet)
    assert list(fw.statuses.levels) == SCALE and fw.statuses.worst == SCALE[0]
    for r in fw.ratings:
        style = fw.statuses.style(r.name)
        assert style.background == r.colour
        assert contrast_ratio(style.text, style.background) >= 4.5
    recoloured = parse_framework(SHIPPED.replace('colour = "#00703C"', 'colour = "#123456"'))
    assert recoloured.statuses.style("Good practice").background == "#123456"
    assert len({fw.statuses.style(n).symbol for n in SCALE}) == 4, "a shape per rating, not colour alone"


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_framework(text, file_name="f.toml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("edit, where, words", [
    (lambda t: "department = 'x'\n" + t, None, "Unknown key 'department'. Allowed keys in the framework"),
    (lambda t: t.replace('id = "progressing"', 'id = "progressing"\nscore = 2'), "rating 'progressing'",
     "Unknown key 'score'. Allowed keys in a rating: id, name, colour, description"),
    (lambda t: t.replace('id = "value_of_information"', 'id = "value_of_information"\nowner = "x"'),
     "area 'value_of_information'", "Unknown key 'owner'"),
    (lambda t: t.replace('id = "providing_guidance"', 'id = "providing_guidance"\nweight = 2'),
     "area 'information_risk_governance_and_oversight' › sub_area 'providing_guidance'",
     "Unknown key 'weight'. Allowed keys in a sub-area: id, name, description"),
    (lambda t: t.replace('id = "measuring_impact"', 'id = "Measuring impact"'), "› id",
     "The id must be a short word of lower-case letters"),
    (lambda t: t.replace('colour = "#FFBF47"', 'colour = "orange"'), "rating 'progressing' › colour",
     "The colour must be written #RRGGBB"),
    (lambda t: t.replace('name = "Establishing control"\n', ''),
     "sub_area 'establishing_control'", "Missing 'name'. Every sub-area needs id, name"),
    (lambda t: t.replace('id = "measuring_impact"', 'id = "providing_guidance"'),
     "sub_area 'providing_guidance'", "The id 'providing_guidance' is used twice"),
    (lambda t: t.replace('name = "Satisfactory"', 'name = "good practice"'), "rating 'good_practice'",
     "reads the same as 'good practice'"),
    (lambda t: t.split("[[area]]")[0].split("[[rating]]")[0] + "[[area]]\nid='a'\nname='A'\n"
     "[[area.sub_area]]\nid='s'\nname='S'\n", "rating", "Missing 'rating'"),
    (lambda t: t.replace("[[rating]]", "[[ratingx]]", 1), None, "Unknown key 'ratingx'"),
    (lambda t: t + "\n[[area]]\nid = \"empty\"\nname = \"Empty\"\n", "area 'empty'", "Missing 'sub_area'"),
    (lambda t: "this is not = = toml", None, "not valid TOML"),
])
def test_framework_mistakes_are_refused_where_they_are(edit, where, words):
    problems = _problems(edit(SHIPPED))
    hits = [p for p in problems if words in p]
    assert hits, problems
    if where:
        assert any(where in p for p in hits), hits
    assert all(p.startswith("f.toml") for p in problems)


def test_every_mistake_is_reported_at_once():
    text = (SHIPPED.replace('id = "providing_guidance"', 'id = "providing_guidance"\nweight = 2')
            .replace('colour = "#FFBF47"', 'colour = "orange"').replace("assessor =", "asessor ="))
    assert len(_problems(text)) == 3


def test_a_scale_of_one_or_eight_is_refused():
    ratings = re.findall(r"\[\[rating\]\][^\[]*", SHIPPED)
    one = SHIPPED.replace("".join(ratings[1:]), "")
    assert any("at least two ratings" in p for p in _problems(one))
    extra = "".join(r.replace('id = "', f'id = "x{i}_').replace('name = "', f'name = "X{i} ')
                    for i, r in enumerate(ratings))
    assert any("at most seven" in p for p in _problems(SHIPPED.replace(ratings[0], ratings[0] + extra)))


def test_missing_file_says_so(tmp_path: Path):
    with pytest.raises(ValidationError, match="does not exist"):
        load_framework(tmp_path / "nope.toml")


# Comparison: a table of known values --------------------------------------------------------

DA, PT, SA, GP = "development_area", "progressing", "satisfactory", "good_practice"


@pytest.mark.parametrize("before, after, expected, steps", [
    (DA, GP, IMPROVED, 3), (DA, PT, IMPROVED, 1), (PT, SA, IMPROVED, 1), (SA, GP, IMPROVED, 1),
    (SA, SA, SAME, 0), (DA, DA, SAME, 0), (GP, GP, SAME, 0),
    (GP, DA, DECLINED, -3), (SA, PT, DECLINED, -1), (GP, SA, DECLINED, -1),
    (None, SA, UNRATED, None), (SA, None, UNRATED, None), (None, None, UNRATED, None),
    (None, DA, UNRATED, None),   # never read as "improved from nothing"
    (DA, None, UNRATED, None),   # nor as "declined to nothing"
])
def test_change_between_two_ratings(fw, before, after, expected, steps):
    assert change(fw, before, after) == (expected, steps)


def test_compare_covers_every_sub_area_in_framework_order(fw):
    a = {"communicating_and_realising_value": SA, "managing_information_as_an_asset": DA,
         "recognising_information_risk": SA, "measuring_impact": PT}
    b = {"communicating_and_realising_value": SA, "managing_information_as_an_asset": SA,
         "recognising_information_risk": DA, "providing_guidance": GP}
    changes = compare(fw, a, b)
    assert [c.sub_area_id for c in changes] == SUB_AREAS
    got = {c.sub_area_id: c.change for c in changes}
    assert got["communicating_and_realising_value"] == SAME
    assert got["managing_information_as_an_asset"] == IMPROVED
    assert got["recognising_information_risk"] == DECLINED
    assert got["measuring_impact"] == UNRATED and got["providing_guidance"] == UNRATED
    assert got["establishing_control"] == UNRATED
    as_json = changes[1].as_dict()
    assert as_json == {"area": "The value of information", "area_id": "value_of_information",
                            "sub_area": "Managing information as an asset",
                            "sub_area_id": "managing_information_as_an_asset",
                            "from": "Development area", "to": "Satisfactory", "change": IMPROVED, "steps": 2}


# The action plan's rules -------------------------------------------------------------------

@pytest.mark.parametrize("before, after, allowed", [
    (NOT_STARTED, IN_PROGRESS, True), (IN_PROGRESS, DELIVERED, True), (NOT_STARTED, DELIVERED, True),
    (DELIVERED, CLOSED, True), (CLOSED, CLOSED, True),
    (NOT_STARTED, CLOSED, False), (IN_PROGRESS, CLOSED, False),
    (CLOSED, IN_PROGRESS, True), (DELIVERED, NOT_STARTED, True),   # reopening is allowed
    (NOT_STARTED, "finished", False),
])
def test_status_changes(before, after, allowed):
    assert (status_change_problem(before, after) is None) is allowed


@pytest.mark.parametrize("statuses, is_open", [
    ([], True), ([CLOSED], False), ([CLOSED, CLOSED], False), ([CLOSED, DELIVERED], True),
    ([DELIVERED], True), ([NOT_STARTED, IN_PROGRESS], True),
])
def test_a_recommendation_is_open_until_every_action_is_closed(statuses, is_open):
    assert recommendation_open(statuses) is is_open


def test_statuses_are_the_national_archives_four():
    assert ACTION_STATUSES == ("not started", "in progress", "delivered", "closed")
