import copy
import tomllib

import pytest

from kim_metrics.domain.criteria import DEFAULT_CRITERIA_PATH, criteria_from_dict, load_criteria, parse_criteria
from kim_metrics.domain.errors import ValidationError

RAW = tomllib.loads(DEFAULT_CRITERIA_PATH.read_text(encoding="utf-8"))


def test_seven_default_criteria_with_every_part():
    criteria = load_criteria()
    assert len(criteria) == 7
    assert {c.scale for c in criteria} == {"level", "percent", "yesno"}
    for c in criteria:
        assert c.name and c.description and c.aliases and c.weight > 0
        assert len(c.guidance) == c.guidance_needed
    assert criteria.rag.levels == ("Red", "Amber", "Green")
    assert dict(criteria.rag.team) == {"Green": 80.0, "Amber": 50.0}


def test_round_trips_through_toml():
    criteria = load_criteria()
    assert parse_criteria(criteria.to_toml()) == criteria


def _problems(raw) -> list[str]:
    with pytest.raises(ValidationError) as err:
        criteria_from_dict(raw)
    return [p.message for p in err.value.problems]


def test_extra_keys_are_refused_by_name():
    raw = copy.deepcopy(RAW)
    raw["criterion"][0]["colour"] = "blue"
    raw["rag"]["amber_text"] = 1
    raw["extras"] = {}
    messages = " ".join(_problems(raw))
    assert "'colour'" in messages and "'amber_text'" in messages and "'extras'" in messages


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda r: r["criterion"][0].update(scale="stars"), "Unknown scale"),
    (lambda r: r["criterion"][0].update(weight=0), "weight"),
    (lambda r: r["criterion"][0].update(rag={"Green": 9}), "threshold for Green"),
    (lambda r: r["criterion"][0].update(rag={"Purple": 1}), "not a RAG level"),
    (lambda r: r["criterion"][0].update(guidance=["only one"]), "guidance must be a list of 3"),
    (lambda r: r["criterion"][1].update(id="naming"), "used twice"),
    (lambda r: r["rag"].update(team={"Green": 40, "Amber": 50}), "must rise"),
    (lambda r: r["criterion"][5].update(levels=["a", "b"]), "Only a 'level' scale has levels"),
    (lambda r: r["criterion"][0].pop("rag"), "Missing rag"),
])
def test_bad_criteria_are_refused_with_a_fix(mutate, needle):
    raw = copy.deepcopy(RAW)
    mutate(raw)
    assert any(needle in m for m in _problems(raw)), _problems(raw)


def test_five_level_scale_is_accepted():
    raw = copy.deepcopy(RAW)
    raw["rag"] = {"levels": ["Red", "Amber/Red", "Amber", "Amber/Green", "Green"],
                  "team": {"Green": 85, "Amber/Green": 70, "Amber": 55, "Amber/Red": 40}}
    criteria = criteria_from_dict(raw)
    assert criteria.rag.classify([39, 40, 69.9, 70, 85]).tolist() == [
        "Red", "Amber/Red", "Amber", "Amber/Green", "Green"]


def test_invalid_toml_names_the_problem():
    with pytest.raises(ValidationError, match="not valid TOML"):
        parse_criteria("[rag\nlevels=")


def test_next_step_uses_guidance():
    criteria = load_criteria()
    naming = criteria.get("naming")
    assert naming.next_step(1, criteria.rag) == (2.0, naming.guidance[1])
    assert naming.next_step(3, criteria.rag) is None
    training = criteria.get("training")
    assert training.next_step(10, criteria.rag) == (70.0, training.guidance[0])
    assert training.next_step(75, criteria.rag) == (90.0, training.guidance[1])
    assert training.next_step(95, criteria.rag) is None
