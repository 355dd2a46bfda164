import copy
import math
import tomllib

import pytest

from kim_metrics.cli import main
from kim_metrics.domain.criteria import (
    DEFAULT_CRITERIA_PATH, SHORT_MAX, criteria_from_dict, decode_criteria, derive_short, load_criteria,
    parse_criteria,
)
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
    (lambda r: r["criterion"][0].update(levels=["Started", "started!"]), "two distinct level labels"),
    (lambda r: r["criterion"][0].update(short="A label far too long"), "short must be text of 1 to 14"),
    (lambda r: r["criterion"][0].update(short="  "), "short must be"),
    (lambda r: r["criterion"][0].update(short="Two\nlines"), "on one line"),
    (lambda r: r["criterion"][0].update(short=7), "short must be"),
    (lambda r: r["criterion"][1].update(short="naming"), "also the short label of 'naming'"),
    (lambda r: r["criterion"][0].update(ima="managing information"), "ima must name"),
    (lambda r: r["criterion"][0].update(ima="value-of-information"), "ima must name"),
    (lambda r: r["criterion"][0].update(ima=3), "ima must name"),
    (lambda r: r["rag"].update(colours={"Purple": "#800080"}), "'Purple' is not one of the statuses"),
    (lambda r: r["rag"].update(colours={"Green": "green"}), "must be written #RRGGBB"),
    (lambda r: r["rag"].update(colours={"Green": "#00703"}), "must be written #RRGGBB"),
    (lambda r: r["rag"].update(colours=["#00703C"]), "colours must be a table"),
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


# Weights: finite, above 0, at most 1000 -------------------------------------------------------

@pytest.mark.parametrize("weight", [0, -1, 0.0, math.nan, math.inf, -math.inf, 1000.001, 1e9, True, "2"])
def test_weights_out_of_bounds_are_refused(weight):
    raw = copy.deepcopy(RAW)
    raw["criterion"][2]["weight"] = weight
    messages = _problems(raw)
    assert any("above 0 and at most 1000" in m for m in messages), messages


@pytest.mark.parametrize("weight", [0.001, 1, 2.5, 1000])
def test_weights_in_bounds_are_kept(weight):
    raw = copy.deepcopy(RAW)
    raw["criterion"][2]["weight"] = weight
    assert criteria_from_dict(raw).get("what_to_keep").weight == float(weight)


def test_nan_weight_written_in_toml_is_refused_with_where():
    text = DEFAULT_CRITERIA_PATH.read_text(encoding="utf-8").replace("weight = 1.5", "weight = nan")
    with pytest.raises(ValidationError) as err:
        parse_criteria(text)
    [problem] = err.value.problems
    assert problem.column == "criterion 'corporate_system'" and "nan" in problem.message


# Short labels and the IMA sub-area ----------------------------------------------------------

DEFAULT_SHORTS = {"naming": "Naming", "corporate_system": "Corp. system", "what_to_keep": "What to Keep",
                  "asset_register": "Asset register", "information_manager": "Info manager",
                  "training": "Training", "legacy_review": "Legacy review"}
DEFAULT_IMA = {"naming": "digital_continuity_and_it_change",
               "corporate_system": "supporting_information_through_technology",
               "what_to_keep": "communicating_and_realising_value",
               "asset_register": "managing_information_as_an_asset",
               "information_manager": "establishing_control", "training": "providing_guidance",
               "legacy_review": "implementing_disposal_decisions"}


def test_defaults_have_short_labels_and_ima_sub_areas():
    criteria = load_criteria()
    assert {c.id: c.short for c in criteria} == DEFAULT_SHORTS
    assert {c.id: c.ima for c in criteria} == DEFAULT_IMA
    assert all(len(c.short) <= SHORT_MAX for c in criteria)


def test_short_and_ima_are_optional_and_a_short_label_is_derived():
    raw = copy.deepcopy(RAW)
    for item in raw["criterion"]:
        item.pop("short")
        item.pop("ima")
    criteria = criteria_from_dict(raw)
    shorts = [c.short for c in criteria]
    assert all(0 < len(s) <= SHORT_MAX for s in shorts)
    assert len({s.casefold() for s in shorts}) == len(shorts)
    assert all(c.ima is None for c in criteria)
    assert parse_criteria(criteria.to_toml()) == criteria


@pytest.mark.parametrize(("name", "aliases", "taken", "expected"), [
    ("Naming", (), set(), "Naming"),                                       # the name fits
    ("Naming convention used", ("naming convention", "file naming", "naming"), set(), "File naming"),
    ("Naming convention used", ("file naming",), {"file naming"}, "Naming…"),
    ("Legacy and shared-drive information reviewed", (), set(), "Legacy…"),   # no dangling "and"
    ("Information manager nominated", (), set(), "Information…"),
    ("Information manager nominated", (), {"information…"}, "Information 2"),
    ("Supercalifragilisticexpialidocious", (), set(), "Supercalifrag…"),
])
def test_derived_short_labels(name, aliases, taken, expected):
    short = derive_short(name, aliases, taken)
    assert short == expected
    assert len(short) <= SHORT_MAX


def test_to_toml_round_trips_short_ima_and_colours():
    raw = copy.deepcopy(RAW)
    raw["rag"]["colours"] = {"Green": "#00703c"}
    raw["criterion"][0]["short"] = "Names"
    raw["criterion"][0]["ima"] = "establishing_control"
    criteria = criteria_from_dict(raw)
    text = criteria.to_toml()
    again = parse_criteria(text)
    assert again == criteria
    assert again.get("naming").short == "Names" and again.get("naming").ima == "establishing_control"
    assert dict(again.rag.colours) == {"Green": "#00703C"}


# Files that are not UTF-8 ---------------------------------------------------------------------

LATIN1 = "[rag]\nlevels = [\"Red\", \"Amber\", \"Café\"]\n".encode("latin-1")


def test_a_non_utf8_criteria_file_gets_a_message(tmp_path):
    path = tmp_path / "criteria.toml"
    path.write_bytes(LATIN1)
    with pytest.raises(ValidationError) as err:
        load_criteria(path)
    message = str(err.value.problems[0])
    assert "criteria.toml" in message and "not UTF-8" in message and "line 2" in message


def test_a_utf8_file_with_a_byte_order_mark_is_read():
    data = b"\xef\xbb\xbf" + DEFAULT_CRITERIA_PATH.read_bytes()
    assert parse_criteria(decode_criteria(data)) == load_criteria()


def test_kim_criteria_load_refuses_a_non_utf8_file_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(LATIN1)
    url = f"sqlite:///{tmp_path / 'kim.db'}"
    assert main(["--db", url, "init"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "criteria", "load", str(path)]) == 1
    err = capsys.readouterr().err
    assert "latin1.toml" in err and "not UTF-8" in err and "Traceback" not in err
